"""The real MWAA app with Aerodrome's own API (events, hibernate/resume, schedules, snapshots) and services;
no reconciler runs, so statuses stay where requests leave them."""

import json
import threading

import pytest

from aerodrome.api.aws.app import build_mwaa_app
from aerodrome.api.ext.app import ExtApi, is_ext
from aerodrome.api.front import build_front
from aerodrome.runtimes.local.placement import HostPlacements
from aerodrome.services.credentials import CredentialService
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.events import EventService
from aerodrome.services.lifecycle import LifecycleService
from aerodrome.services.principals import PrincipalService
from aerodrome.services.schedules import ScheduleService
from aerodrome.services.snapshots import SnapshotService
from aerodrome.services.worker_tokens import WorkerTokenService
from tests.support import Wakes, serve_asgi

WEB_CA = "-----BEGIN CERTIFICATE-----\nthe web endpoints' CA\n-----END CERTIFICATE-----\n"


class StandInRuntime:
    """What the local runtime does for snapshots, minus PostgreSQL: a fixed dump and counts."""

    def __init__(self):
        self.staged = []

    def dump_database(self, placement, path):
        path.write_bytes(b"PGDMP stand-in dump")

    def dump_counts(self, path):
        return {"dagRuns": 1, "connections": 1, "variables": 1, "pools": 2}

    def database_secrets(self, placement):
        return {"fernet.secret": "the-fernet-key"}

    def stage_restore(self, placement, **staged):
        """Takes the dump file, as the local runtime moves it (what it held is recorded)."""
        dump = staged["dump"]
        self.staged.append((placement.env_id, {**staged, "dump": dump.read_bytes()}))
        dump.unlink()

    def restore_pending(self, placement):
        return False

    def restore_result(self, placement):
        return None

    def clear_restore(self, placement):
        pass


@pytest.fixture
def plane(settings, store):
    settings.buckets_dir.mkdir(parents=True, exist_ok=True)
    (settings.buckets_dir / "my-bucket").mkdir()
    credentials = CredentialService(store=store)
    wakes = Wakes()
    environments = EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings), wake=wakes)
    events = EventService(store=store, settings=settings)
    lifecycle = LifecycleService(store=store, wake=Wakes())
    runtime = StandInRuntime()
    snapshots = SnapshotService(store=store, settings=settings, runtime=runtime, environments=environments,
                                wake=Wakes())
    closing = threading.Event()
    principals = PrincipalService(store=store, region=settings.region, account=settings.account)
    principals.ensure_admin()
    mwaa = build_mwaa_app(environments=environments, credentials=credentials, region=settings.region,
                          account=settings.account, authorizer=principals)
    ext = ExtApi(events=events, lifecycle=lifecycle, credentials=credentials, authorizer=principals,
                 region=settings.region, account=settings.account, closing=closing, snapshots=snapshots,
                 schedules=ScheduleService(store=store, lifecycle=lifecycle), principals=principals,
                 endpoints=environments,
                 worker_tokens=WorkerTokenService(store=store, settings=settings, web_ca=lambda: WEB_CA))
    app = build_front([(is_ext, ext)], mwaa)
    with serve_asgi(app) as url:
        key, secret = credentials.admin()
        port = int(url.rsplit(":", 1)[1])
        settings = settings.replace(port=port)
        settings.endpoint_file.write_text(json.dumps({"endpoint_url": url, "region": settings.region}))
        try:
            yield {"url": url, "key": key, "secret": secret, "events": events, "settings": settings, "store": store,
                   "principals": principals, "runtime": runtime, "environments": environments,
                   "wakes": wakes}
        finally:
            closing.set()  # ends open streams so the server can stop


@pytest.fixture
def mwaa(plane):
    import boto3
    from botocore.config import Config

    return boto3.client("mwaa", endpoint_url=plane["url"], aws_access_key_id=plane["key"],
                        aws_secret_access_key=plane["secret"], region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))
