"""In-place Airflow version changes with real Airflow: 2.11.2 -> 3.3.2 -> 2.11.2 keeps the history;
an upgrade the DAGs cannot take rolls back to the dump."""

import datetime

import httpx
import pytest

from tests.e2e.conftest import Airflow, wait_for
from tests.e2e.test_rollback_and_airflow2 import Airflow2, create

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
OPTIONS = {"core.dags_are_paused_at_creation": "False"}
SETTLED = ("AVAILABLE", "UPDATE_FAILED", "UNAVAILABLE")


def change_version(mwaa, name, version, timeout=900, **extra):
    """Update AirflowVersion; the statuses seen on the way (in order) and the environment at the end."""
    mwaa.update_environment(Name=name, AirflowVersion=version, **extra)
    seen = []

    def settled():
        status = mwaa.get_environment(Name=name)["Environment"]["Status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        return status in SETTLED

    wait_for(settled, timeout=timeout, interval=0.5, what=f"{name} to move to Airflow {version}")
    return seen, mwaa.get_environment(Name=name)["Environment"]


def run_v2(airflow, dag_id):
    wait_for(lambda: airflow.get(f"/dags/{dag_id}").status_code == 200, timeout=180, what=f"the DAG {dag_id}")
    return run_to_success(airflow, dag_id, {})


def run_v3(airflow, dag_id):
    """A run with a logical date: Airflow's downgrade to 2.x moves runs without one aside."""
    return run_to_success(airflow, dag_id, {"logical_date": datetime.datetime.now(datetime.UTC).isoformat()})


def run_to_success(airflow, dag_id, body):
    run = airflow.post(f"/dags/{dag_id}/dagRuns", body)
    assert run.status_code == 200, run.text
    run_id = run.json()["dag_run_id"]
    state = wait_for(lambda: finished(airflow, f"/dags/{dag_id}/dagRuns/{run_id}"), timeout=300, what="the run")
    assert state == "success"
    return run_id


def finished(airflow, path):
    """The run's final state, or None (also when the loaded host makes the API answer slowly)."""
    try:
        state = airflow.get(path).json()["state"]
    except httpx.HTTPError:
        return None
    return state if state in ("success", "failed") else None


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


def test_upgrade_to_3_and_back_keeps_history(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "up", "up-bucket", BOTH, AirflowVersion="2.11.2", AirflowConfigurationOptions=OPTIONS)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    first_run = seed_v2(Airflow2(plane, "up"))

    seen, env = change_version(mwaa, "up", "3.3.2")
    assert env["Status"] == "AVAILABLE", (seen, env["LastUpdate"])
    assert seen[:3] == ["CREATING_SNAPSHOT", "UPDATING", "AVAILABLE"], seen
    assert env["AirflowVersion"] == "3.3.2" and env["LastUpdate"]["Status"] == "SUCCESS"
    airflow = Airflow(plane, "up")
    assert_kept(airflow, [first_run])
    wait_for(lambda: airflow.get("/dags/both").status_code == 200, timeout=120, what="the DAG on 3.3.2")
    reply = httpx.patch(f"{airflow.base}/api/v2/dags/both", json={"is_paused": False}, headers=airflow.headers)
    assert reply.status_code == 200, reply.text
    second_run = run_v3(airflow, "both")

    seen, env = change_version(mwaa, "up", "2.11.2")
    assert env["Status"] == "AVAILABLE", (seen, env["LastUpdate"])
    assert seen[:3] == ["CREATING_SNAPSHOT", "UPDATING", "AVAILABLE"], seen
    assert env["AirflowVersion"] == "2.11.2"
    airflow = Airflow2(plane, "up")
    assert_kept(airflow, [first_run, second_run])
    run_v2(airflow, "both")


def test_an_upgrade_the_dags_cannot_take_rolls_back(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "rb2", "rb2-bucket", BOTH, AirflowVersion="2.11.2", AirflowConfigurationOptions=OPTIONS)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    s3.put_object(Bucket="rb2-bucket", Key="dags/legacy.py", Body=ONLY_V2)
    airflow = Airflow2(plane, "rb2")
    first_run = seed_v2(airflow)
    wait_for(lambda: airflow.get("/dags/legacy").status_code == 200, timeout=300, what="legacy on 2.11.2")

    # a requirements file the new version cannot resolve fails the pre-flight: nothing was stopped
    s3.put_object(Bucket="rb2-bucket", Key="requirements.txt", Body=b"aerodrome-no-such-package-e2e==1.0\n")
    scheduler = f"{airflow.placement.env_id}/scheduler-1"
    _, pid, _ = plane.driver.supervisor.state(scheduler)
    seen, env = change_version(mwaa, "rb2", "3.3.2", RequirementsS3Path="requirements.txt")
    assert env["Status"] == "UPDATE_FAILED" and "UPDATING" not in seen, (seen, env["LastUpdate"])
    assert "requirements.txt could not be resolved" in env["LastUpdate"]["Error"]["ErrorMessage"]
    assert env["AirflowVersion"] == "2.11.2" and "RequirementsS3Path" not in env
    assert plane.driver.supervisor.state(scheduler)[1] == pid

    seen, env = change_version(mwaa, "rb2", "3.3.2")
    assert env["Status"] == "UPDATE_FAILED", (seen, env["LastUpdate"])
    assert "ROLLING_BACK" in seen and "UPDATING" in seen, seen
    message = env["LastUpdate"]["Error"]["ErrorMessage"]
    assert "legacy.py" in message and "days_ago" in message and "log:" in message, message
    assert env["AirflowVersion"] == "2.11.2"
    airflow = Airflow2(plane, "rb2")
    assert_kept(airflow, [first_run])
    run_v2(airflow, "both")


def test_an_environment_created_on_3_moves_down_to_2_11(plane, clients):
    """No FAB tables exist yet: the downgrade needs the FAB provider to create them for Airflow 2."""
    mwaa, s3 = clients
    env = create(mwaa, s3, "down", "down-bucket", BOTH, AirflowConfigurationOptions=OPTIONS)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = Airflow(plane, "down")
    wait_for(lambda: airflow.get("/dags/both").status_code == 200, timeout=180, what="the DAG on 3.3.2")
    first_run = run_v3(airflow, "both")

    seen, env = change_version(mwaa, "down", "2.11.2")
    assert env["Status"] == "AVAILABLE", (seen, env["LastUpdate"])
    assert seen[:3] == ["CREATING_SNAPSHOT", "UPDATING", "AVAILABLE"], seen
    airflow = Airflow2(plane, "down")
    assert airflow.get(f"/dags/both/dagRuns/{first_run}").json()["state"] == "success"
    run_v2(airflow, "both")
