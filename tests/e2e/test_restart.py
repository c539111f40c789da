"""kill -9 of the control plane: the next `aerodrome up` finishes what was in flight and re-attaches to
running environments; SIGTERM stops everything it started."""

import json
import os
import signal
import subprocess
import sys

import boto3
import psutil
import pytest
from botocore.config import Config

from tests.api.conftest import free_port
from tests.e2e.conftest import VENVS, wait_for

pytestmark = pytest.mark.e2e


def start(home, port, s3_port):
    env = {**os.environ, "AERODROME_HOME": str(home), "AERODROME_PORT": str(port),
           "AERODROME_S3_PORT": str(s3_port), "AERODROME_VENVS_DIR": str(VENVS)}
    (home / "endpoint.json").unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "up", "--no-demo"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: (home / "endpoint.json").exists() or process.poll() is not None, timeout=60, what="up")
    assert process.poll() is None, "aerodrome up exited"
    return process


def component_pids(home):
    found = {}
    for pid_file in home.glob("environments/*/run/*.pid"):
        found[pid_file.stem] = json.loads(pid_file.read_text())["pid"]
    return found


def test_kill_9_resumes_and_reattaches(tmp_path):
    home, port, s3_port = tmp_path / "home", free_port(), free_port()
    home.mkdir()
    (home / "buckets" / "b" / "dags").mkdir(parents=True)
    plane = start(home, port, s3_port)
    from aerodrome.services.credentials import CredentialService
    from aerodrome.store.db import Store

    store = Store(f"sqlite:///{home / 'aerodrome.db'}")
    key, secret = CredentialService(store=store).admin()
    store.close()
    mwaa = boto3.client("mwaa", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))
    mwaa.create_environment(Name="r", ExecutionRoleArn="arn:aws:iam::000000000000:role/x",
                            SourceBucketArn="arn:aws:s3:::b", DagS3Path="dags",
                            NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]})
    try:
        plane.send_signal(signal.SIGKILL)  # mid-create
        plane.wait()
        plane = start(home, port, s3_port)
        wait_for(lambda: mwaa.get_environment(Name="r")["Environment"]["Status"] != "CREATING", timeout=600,
                 interval=1, what="the create to finish after the restart")
        assert mwaa.get_environment(Name="r")["Environment"]["Status"] == "AVAILABLE"
        before = component_pids(home)
        assert {"api-server", "scheduler-1", "worker-1", "triggerer", "dag-processor"} <= set(before)

        plane.send_signal(signal.SIGKILL)  # while AVAILABLE: the environment keeps running
        plane.wait()
        assert all(psutil.pid_exists(pid) for pid in before.values())
        plane = start(home, port, s3_port)
        assert mwaa.get_environment(Name="r")["Environment"]["Status"] == "AVAILABLE"
        wait_for(lambda: component_pids(home) == before, timeout=30, what="re-attached components")
    finally:
        plane.send_signal(signal.SIGTERM)
        plane.wait(120)
    left = [p for p in psutil.process_iter(["cmdline"]) if str(home) in " ".join(p.info["cmdline"] or [])]
    assert left == [], [p.info["cmdline"][:3] for p in left]
