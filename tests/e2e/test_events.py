"""Status events end to end: a real HTTP webhook receiver gets create -> update -> delete of a real
environment, in order, signed, while `aerodrome events --follow --json` prints the same events."""

import json
import subprocess
import sys
import threading
import time

import pytest

from aerodrome.app import ControlPlane
from aerodrome.events.webhooks import SIGNATURE_HEADER, verify
from aerodrome.settings import Settings
from tests.api.conftest import free_port
from tests.e2e.conftest import VENVS, env_ports, wait_for
from tests.webhook_receiver import has_client, receiver

pytestmark = pytest.mark.e2e

EXPECTED = [(None, "CREATING"), ("CREATING", "AVAILABLE"), ("AVAILABLE", "UPDATING"), ("UPDATING", "AVAILABLE"),
            ("AVAILABLE", "DELETING"), ("DELETING", "DELETED")]


def changes(events):
    return [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in events]


def test_webhook_and_cli_follow_see_create_update_delete_in_order(tmp_path):
    with receiver(fail_first=1) as hook:
        settings = Settings(home=tmp_path / "home", port=free_port(), s3_port=free_port(), venv_root=VENVS,
                            resync_interval=2.0, event_webhooks=(hook.url,), event_webhook_secret="hook-key",
                            **env_ports())
        plane = ControlPlane(settings)
        plane.start()
        try:
            _exercise(plane, hook)
        finally:
            plane.close()


def _exercise(plane, hook):
    import boto3
    from botocore.config import Config

    key, secret = plane.credentials.admin()
    common = {"aws_access_key_id": key, "aws_secret_access_key": secret, "region_name": "us-east-1",
              "config": Config(inject_host_prefix=False, retries={"max_attempts": 1})}
    mwaa = boto3.client("mwaa", endpoint_url=plane.settings.endpoint_url, **common)
    (plane.settings.buckets_dir / "events-bucket" / "dags").mkdir(parents=True)

    env = {"AERODROME_HOME": str(plane.settings.home), "PATH": "/usr/bin:/bin"}
    follower = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "events", "--follow", "--json"],
                                stdout=subprocess.PIPE, text=True, env=env)
    printed: list[dict] = []
    reader = threading.Thread(target=lambda: printed.extend(json.loads(line) for line in follower.stdout),
                              daemon=True)
    reader.start()
    try:
        wait_for(lambda: has_client(follower.pid, plane.settings.port), timeout=20, what="the follower to connect")
        time.sleep(0.5)  # the server takes its starting position as the request arrives
        mwaa.create_environment(
            Name="evt", ExecutionRoleArn="arn:aws:iam::000000000000:role/airflow",
            SourceBucketArn="arn:aws:s3:::events-bucket", DagS3Path="dags",
            NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]})
        status = lambda: mwaa.get_environment(Name="evt")["Environment"]["Status"]  # noqa: E731
        wait_for(lambda: status() not in ("CREATING",), timeout=600, interval=1, what="create")
        assert status() == "AVAILABLE"
        mwaa.update_environment(Name="evt", AirflowConfigurationOptions={"custom.marker": "two"})
        wait_for(lambda: status() != "UPDATING", timeout=300, interval=1, what="update")
        assert status() == "AVAILABLE"
        mwaa.delete_environment(Name="evt")
        wait_for(lambda: not mwaa.list_environments()["Environments"], timeout=120, interval=1, what="delete")

        wait_for(lambda: len(hook.events()) >= len(EXPECTED), timeout=30, what="every webhook delivery")
        assert hook.refused == 1  # the first delivery failed and was retried
        assert changes(hook.events()) == EXPECTED
        arn = hook.events()[0]["resources"][0]
        for event, body, headers in hook.deliveries:
            assert event["source"] == "aws.airflow"
            assert event["detail-type"] == "MWAA Environment Status Change"
            assert event["detail"]["name"] == "evt" and event["detail"]["arn"] == arn
            assert verify("hook-key", body, headers[SIGNATURE_HEADER.lower()])
        assert len({e["id"] for e in hook.events()}) == len(EXPECTED)

        wait_for(lambda: len(printed) >= len(EXPECTED), timeout=30, what="the follower's lines")
        assert [e["id"] for e in printed] == [e["id"] for e in hook.events()]
    finally:
        follower.terminate()
        follower.wait(10)

