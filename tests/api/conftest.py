import contextlib
import socket
import threading
import time

import boto3
import pytest
import uvicorn
from botocore.config import Config

from aerodrome.api.aws.app import build_mwaa_app
from aerodrome.runtimes.local.placement import HostPlacements
from aerodrome.services.credentials import CredentialService
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.principals import PrincipalService


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_asgi(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


class Wakes(list):
    def __call__(self, name):
        self.append(name)


@pytest.fixture
def control_plane(settings, store):
    """The real MWAA app, services and store; no reconciler runs, so statuses stay where requests leave them."""
    settings.buckets_dir.mkdir(parents=True, exist_ok=True)
    (settings.buckets_dir / "my-bucket").mkdir()
    credentials = CredentialService(store=store)
    wakes = Wakes()
    environments = EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings), wake=wakes)
    principals = PrincipalService(store=store, region=settings.region, account=settings.account)
    principals.ensure_admin()
    app = build_mwaa_app(environments=environments, credentials=credentials, region=settings.region,
                         account=settings.account, authorizer=principals)
    with serve_asgi(app) as url:
        key, secret = credentials.admin()
        yield {"url": url, "key": key, "secret": secret, "wakes": wakes, "environments": environments}


@pytest.fixture
def mwaa(control_plane):
    return boto3.client("mwaa", endpoint_url=control_plane["url"], aws_access_key_id=control_plane["key"],
                        aws_secret_access_key=control_plane["secret"], region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))


@pytest.fixture
def raw_mwaa(control_plane):
    """boto3 with its client-side checks off, so every bad value reaches the server."""
    return boto3.client("mwaa", endpoint_url=control_plane["url"], aws_access_key_id=control_plane["key"],
                        aws_secret_access_key=control_plane["secret"], region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                                      parameter_validation=False))


def minimal(**extra):
    request = {
        "Name": "dev",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/airflow",
        "SourceBucketArn": "arn:aws:s3:::my-bucket",
        "DagS3Path": "dags",
        "NetworkConfiguration": {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]},
    }
    request.update(extra)
    return request
