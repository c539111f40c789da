"""In-place Airflow version changes with real Airflow: an upgrade the DAGs cannot take rolls back to
the dump; 2.11.2 -> 3.3.2 keeps the history (the move down from 3.3.2, with its history, is
test_version_change_down)."""

import datetime

import pytest

from tests.support import (
    UNPAUSED,
    Airflow,
    Airflow2,
    component_pid,
    create,
    settle,
    trigger,
    unpause,
    wait_for,
    wait_for_dag,
    wait_run,
)

pytestmark = pytest.mark.e2e

BOTH = b'''
import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
# retries: on a loaded host a task may time out reaching Airflow 3's execution API
with DAG("both", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False,
         default_args={"retries": 2, "retry_delay": datetime.timedelta(seconds=5)}):
    BashOperator(task_id="t", bash_command="echo ok")
'''
ONLY_V2 = b'''
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.utils.dates import days_ago  # gone in Airflow 3
with DAG("legacy", start_date=days_ago(1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo ok")
'''


def change_version(mwaa, name, version, timeout=900, **extra):
    """Update AirflowVersion; the statuses seen on the way (in order) and the environment at the end."""
    mwaa.update_environment(Name=name, AirflowVersion=version, **extra)
    _, seen = settle(mwaa, name, timeout=timeout)
    return seen, mwaa.get_environment(Name=name)["Environment"]


def run_v2(airflow, dag_id):
    wait_for_dag(airflow, dag_id)
    return run_to_success(airflow, dag_id, {})


def run_v3(airflow, dag_id):
    """A run with a logical date: Airflow's downgrade to 2.x moves runs without one aside."""
    return run_to_success(airflow, dag_id, {"logical_date": datetime.datetime.now(datetime.UTC).isoformat()})


def run_to_success(airflow, dag_id, body):
    run_id = trigger(airflow, dag_id, body)
    assert wait_run(airflow, dag_id, run_id) == "success"
    return run_id


def seed_v2(airflow):
    """A run, a variable, a connection and a pool, made through Airflow 2's REST API."""
    run_id = run_v2(airflow, "both")
    for path, body in (("/variables", {"key": "greeting", "value": "hello"}),
                       ("/connections", {"connection_id": "svc", "conn_type": "http", "host": "example.com"}),
                       ("/pools", {"name": "narrow", "slots": 2})):
        reply = airflow.post(path, body)
        assert reply.status_code == 200, reply.text
    return run_id


def assert_kept(airflow, run_ids):
    for run_id in run_ids:
        reply = airflow.get(f"/dags/both/dagRuns/{run_id}")
        assert reply.status_code == 200 and reply.json()["state"] == "success", reply.text
    assert airflow.get("/variables/greeting").json()["value"] == "hello"
    assert airflow.get("/connections/svc").json()["host"] == "example.com"
    assert airflow.get("/pools/narrow").json()["slots"] == 2


def test_an_upgrade_the_dags_cannot_take_rolls_back_then_3_keeps_history(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "up", "up-bucket", BOTH, AirflowVersion="2.11.2", AirflowConfigurationOptions=UNPAUSED,
                 uploads={"dags/legacy.py": ONLY_V2})
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = Airflow2(plane, "up")
    first_run = seed_v2(airflow)
    wait_for(lambda: airflow.get("/dags/legacy").status_code == 200, timeout=300, what="legacy on 2.11.2")

    # a requirements file the new version cannot resolve fails the pre-flight: nothing was stopped
    s3.put_object(Bucket="up-bucket", Key="requirements.txt", Body=b"aerodrome-no-such-package-e2e==1.0\n")
    pid = component_pid(plane, airflow.placement, "scheduler-1")
    seen, env = change_version(mwaa, "up", "3.3.2", RequirementsS3Path="requirements.txt")
    assert env["Status"] == "UPDATE_FAILED" and "UPDATING" not in seen, (seen, env["LastUpdate"])
    assert "requirements.txt could not be resolved" in env["LastUpdate"]["Error"]["ErrorMessage"]
    assert env["AirflowVersion"] == "2.11.2" and "RequirementsS3Path" not in env
    assert component_pid(plane, airflow.placement, "scheduler-1") == pid

    # a DAG Airflow 3 cannot import: the upgrade rolls back to the snapshot
    seen, env = change_version(mwaa, "up", "3.3.2")
    assert env["Status"] == "UPDATE_FAILED", (seen, env["LastUpdate"])
    assert "ROLLING_BACK" in seen and "UPDATING" in seen, seen
    message = env["LastUpdate"]["Error"]["ErrorMessage"]
    assert "legacy.py" in message and "days_ago" in message and "log:" in message, message
    assert env["AirflowVersion"] == "2.11.2"
    airflow = Airflow2(plane, "up")
    assert_kept(airflow, [first_run])
    kept_run = run_v2(airflow, "both")

    # without that DAG, 2.11.2 -> 3.3.2 keeps the history
    s3.delete_object(Bucket="up-bucket", Key="dags/legacy.py")
    wait_for(lambda: not (airflow.placement.dags_dir / "legacy.py").exists(), timeout=60,
             what="legacy.py to leave the DAGs folder")
    seen, env = change_version(mwaa, "up", "3.3.2")
    assert env["Status"] == "AVAILABLE", (seen, env["LastUpdate"])
    assert seen[:3] == ["CREATING_SNAPSHOT", "UPDATING", "AVAILABLE"], seen
    assert env["AirflowVersion"] == "3.3.2" and env["LastUpdate"]["Status"] == "SUCCESS"
    airflow = Airflow(plane, "up")
    assert_kept(airflow, [first_run, kept_run])
    wait_for_dag(airflow, "both", timeout=120)
    unpause(airflow, "both")
    run_v3(airflow, "both")
