"""The foundation, end to end: boto3 creates an environment from a bucket, real Airflow runs a DAG
from that bucket, a configuration update reaches the tasks, and delete leaves nothing behind."""

import psutil
import pytest

from tests.e2e.conftest import Airflow, wait_for

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


def status(mwaa, name):
    return mwaa.get_environment(Name=name)["Environment"]["Status"]


def trigger_and_wait(airflow, dag_id, timeout=120):
    run = airflow.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None})
    assert run.status_code == 200, run.text
    run_id = run.json()["dag_run_id"]

    def finished():
        state = airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None

    return wait_for(finished, timeout=timeout, what=f"{dag_id} run to finish")


def test_create_run_update_delete(plane, clients):
    mwaa, s3 = clients
    s3.create_bucket(Bucket="e2e-bucket")
    s3.put_object(Bucket="e2e-bucket", Key="dags/e2e_probe.py", Body=PROBE_DAG)
    s3.put_object(Bucket="e2e-bucket", Key="dags/expected_marker.txt", Body=b"one")
    options = {"core.dags_are_paused_at_creation": "False", "custom.marker": "one"}
    mwaa.create_environment(
        Name="e2e", ExecutionRoleArn="arn:aws:iam::000000000000:role/airflow",
        SourceBucketArn="arn:aws:s3:::e2e-bucket", DagS3Path="dags",
        NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]},
        AirflowConfigurationOptions=options)
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

    # delete leaves no process, database, broker keys, directory or port
    placement = airflow.placement
    mwaa.delete_environment(Name="e2e")
    wait_for(lambda: "e2e" not in mwaa.list_environments()["Environments"], timeout=120, what="delete")
    with pytest.raises(mwaa.exceptions.ResourceNotFoundException):
        mwaa.get_environment(Name="e2e")
    leftovers = [p for p in psutil.process_iter(["cmdline", "cwd"])
                 if str(placement.root) in " ".join(p.info["cmdline"] or []) + (p.info["cwd"] or "")]
    assert leftovers == []
    assert not plane.driver.postgres.database_exists(f"env_{placement.env_id}")
    assert plane.driver.postgres.sql(f"SELECT 1 FROM pg_roles WHERE rolname = 'env_{placement.env_id}'") == ""
    assert plane.driver.redis.size(placement.broker_db) == 0
    assert not placement.root.exists()
    listeners = [c for c in psutil.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == placement.web_port and c.pid]
    assert all(not (psutil.Process(c.pid).cwd() or "").startswith(str(placement.root)) for c in listeners)


def test_bad_bucket_and_stop_all(plane, clients):
    """Creating from a bucket that does not exist is refused; closing the control plane stops every process."""
    mwaa, _ = clients
    with pytest.raises(mwaa.exceptions.ClientError) as info:
        mwaa.create_environment(
            Name="nobucket", ExecutionRoleArn="arn:aws:iam::000000000000:role/airflow",
            SourceBucketArn="arn:aws:s3:::does-not-exist", DagS3Path="dags",
            NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "Unable to access the bucket does-not-exist" in info.value.response["Error"]["Message"]
