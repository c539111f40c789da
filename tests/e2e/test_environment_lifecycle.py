"""The foundation, end to end: boto3 creates an environment from a bucket, real Airflow runs a DAG
from that bucket, a configuration update reaches the tasks, and delete leaves nothing behind. All the
while a real HTTP webhook receiver gets the status events create -> update -> delete, in order,
signed, and `aerodrome events --follow --json` prints the same events."""

import json
import subprocess
import sys
import threading
import time

import psutil
import pytest

from aerodrome.events.webhooks import SIGNATURE_HEADER, verify
from tests.support import (
    NETWORK,
    ROLE,
    UNPAUSED,
    Airflow,
    clients_of,
    metadata_server,
    status,
    trigger_and_wait,
    wait_for,
)
from tests.webhook_receiver import has_client, receiver

pytestmark = pytest.mark.e2e

PROBE_DAG = b'''
import datetime, os
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

def check():
    component = os.environ.get("MWAA_AIRFLOW_COMPONENT")
    marker = os.environ.get("AIRFLOW__CUSTOM__MARKER")
    print(f"component={component} marker={marker}")
    assert component == "worker", component
    expected = open(os.path.join(os.path.dirname(__file__), "expected_marker.txt")).read().strip()
    assert marker == expected, (marker, expected)

with DAG("e2e_probe", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="check", python_callable=check)
'''
EXPECTED = [(None, "CREATING"), ("CREATING", "AVAILABLE"), ("AVAILABLE", "UPDATING"), ("UPDATING", "AVAILABLE"),
            ("AVAILABLE", "DELETING"), ("DELETING", "DELETED")]
STATUS_CHANGE = "MWAA Environment Status Change"


def changes(events):
    return [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in events
            if e["detail-type"] == STATUS_CHANGE]


@pytest.fixture
def watched(plane_factory):
    """A control plane of its own that sends its events to a webhook receiver (whose first delivery
    fails) and to `aerodrome events --follow --json`: (plane, receiver, the follower's printed events)."""
    with receiver(fail_first=1) as hook, \
            plane_factory(event_webhooks=(hook.url,), event_webhook_secret="hook-key") as plane:
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
            yield plane, hook, printed
        finally:
            follower.terminate()
            follower.wait(10)
            reader.join(10)  # the pipe ends with the process; the reader has read it all
            follower.stdout.close()


def test_create_run_update_delete_with_events_in_order(watched):
    plane, hook, printed = watched
    mwaa, s3 = clients_of(plane)
    s3.create_bucket(Bucket="e2e-bucket")
    s3.put_object(Bucket="e2e-bucket", Key="dags/e2e_probe.py", Body=PROBE_DAG)
    s3.put_object(Bucket="e2e-bucket", Key="dags/expected_marker.txt", Body=b"one")
    options = {**UNPAUSED, "custom.marker": "one"}
    mwaa.create_environment(Name="e2e", ExecutionRoleArn=ROLE, SourceBucketArn="arn:aws:s3:::e2e-bucket",
                            DagS3Path="dags", NetworkConfiguration=NETWORK, AirflowConfigurationOptions=options)
    assert status(mwaa, "e2e") == "CREATING"
    wait_for(lambda: status(mwaa, "e2e") != "CREATING", timeout=600, interval=1, what="create to finish")
    env = mwaa.get_environment(Name="e2e")["Environment"]
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    assert env["LastUpdate"]["Status"] == "SUCCESS"

    airflow = Airflow(plane, "e2e")
    wait_for(lambda: airflow.get("/dags/e2e_probe").status_code == 200, timeout=60, what="the DAG to appear")
    assert trigger_and_wait(airflow, "e2e_probe") == "success"

    # a DAG with a syntax error is an import error, and the environment keeps working
    s3.put_object(Bucket="e2e-bucket", Key="dags/broken.py", Body=b"from airflow.sdk import DAG\nthis is not python(\n")
    wait_for(lambda: any("broken.py" in e["filename"] for e in airflow.get("/importErrors").json()["import_errors"]),
             timeout=60, what="the import error")
    assert status(mwaa, "e2e") == "AVAILABLE"

    # a configuration update rolls out to every component and reaches tasks
    s3.put_object(Bucket="e2e-bucket", Key="dags/expected_marker.txt", Body=b"two")
    mwaa.update_environment(Name="e2e", AirflowConfigurationOptions={**options, "custom.marker": "two"})
    assert status(mwaa, "e2e") == "UPDATING"
    wait_for(lambda: status(mwaa, "e2e") != "UPDATING", timeout=300, interval=1, what="update to finish")
    assert status(mwaa, "e2e") == "AVAILABLE"
    airflow = Airflow(plane, "e2e")
    wait_for(lambda: airflow.get("/dags/e2e_probe").status_code == 200, timeout=60, what="the DAG after update")
    assert trigger_and_wait(airflow, "e2e_probe") == "success"

    # delete leaves no process (the environment's broker among them), database, directory or port
    placement = airflow.placement
    mwaa.delete_environment(Name="e2e")
    wait_for(lambda: "e2e" not in mwaa.list_environments()["Environments"], timeout=120, what="delete")
    with pytest.raises(mwaa.exceptions.ResourceNotFoundException):
        mwaa.get_environment(Name="e2e")
    leftovers = [p for p in psutil.process_iter(["cmdline", "cwd"])
                 if str(placement.root) in " ".join(p.info["cmdline"] or []) + (p.info["cwd"] or "")]
    assert leftovers == []
    assert not metadata_server(plane).database_exists(f"env_{placement.env_id}")
    assert metadata_server(plane).sql(f"SELECT 1 FROM pg_roles WHERE rolname = 'env_{placement.env_id}'") == ""
    assert not placement.root.exists()
    listeners = [c for c in psutil.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == placement.web_port and c.pid]
    assert all(not (psutil.Process(c.pid).cwd() or "").startswith(str(placement.root)) for c in listeners)

    # every event reached the webhook (the refused first delivery retried), signed, once each, in order
    wait_for(lambda: len(changes(hook.events())) >= len(EXPECTED), timeout=30, what="every webhook delivery")
    assert hook.refused == 1
    assert changes(hook.events()) == EXPECTED
    arn = hook.events()[0]["resources"][0]
    for event, body, headers in hook.deliveries:
        assert event["source"] == "aws.airflow"
        assert event["detail"]["name"] == "e2e" and event["detail"]["arn"] == arn
        assert verify("hook-key", body, headers[SIGNATURE_HEADER.lower()])
    assert len({e["id"] for e in hook.events()}) == len(hook.deliveries)
    # and the follower printed the same events
    wait_for(lambda: len(printed) >= len(hook.events()), timeout=30, what="the follower's lines")
    assert [e["id"] for e in printed] == [e["id"] for e in hook.events()]


def test_bad_bucket_is_refused(clients):
    """Creating from a bucket that does not exist is refused."""
    mwaa, _ = clients
    with pytest.raises(mwaa.exceptions.ClientError) as info:
        mwaa.create_environment(Name="nobucket", ExecutionRoleArn=ROLE, SourceBucketArn="arn:aws:s3:::does-not-exist",
                                DagS3Path="dags", NetworkConfiguration=NETWORK)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "Unable to access the bucket does-not-exist" in info.value.response["Error"]["Message"]
