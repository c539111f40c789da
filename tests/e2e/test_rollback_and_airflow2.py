"""A broken update rolls back and the environment keeps serving; Airflow 2.11.2 runs a DAG too."""

import pytest

from tests.e2e.conftest import Airflow, wait_for
from tests.e2e.test_environment_lifecycle import trigger_and_wait

pytestmark = pytest.mark.e2e

DAG_V3 = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("simple", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo ok")
'''
DAG_V2 = b'''
import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG("simple2", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo ok")
'''
NETWORK = {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}


def create(mwaa, s3, name, bucket, dag, **extra):
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dags/dag.py", Body=dag)
    mwaa.create_environment(Name=name, ExecutionRoleArn="arn:aws:iam::000000000000:role/x",
                            SourceBucketArn=f"arn:aws:s3:::{bucket}", DagS3Path="dags", NetworkConfiguration=NETWORK,
                            **extra)
    wait_for(lambda: mwaa.get_environment(Name=name)["Environment"]["Status"] != "CREATING", timeout=600,
             interval=1, what=f"{name} to be created")
    return mwaa.get_environment(Name=name)["Environment"]


def test_failing_update_rolls_back_and_keeps_serving(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "rb", "rb-bucket", DAG_V3, MaxWorkers=3)
    assert env["Status"] == "AVAILABLE"
    # an option Airflow cannot parse makes the scheduler exit at start
    mwaa.update_environment(Name="rb", MaxWorkers=4,
                            AirflowConfigurationOptions={"scheduler.scheduler_heartbeat_sec": "often"})
    seen = set()

    def settled():
        status = mwaa.get_environment(Name="rb")["Environment"]["Status"]
        seen.add(status)
        return status if status in ("UPDATE_FAILED", "AVAILABLE", "UNAVAILABLE") else None

    assert wait_for(settled, timeout=300, interval=0.5, what="the update to settle") == "UPDATE_FAILED"
    assert "ROLLING_BACK" in seen
    env = mwaa.get_environment(Name="rb")["Environment"]
    assert env["LastUpdate"]["Status"] == "FAILED"
    assert "scheduler" in env["LastUpdate"]["Error"]["ErrorMessage"]
    assert "log:" in env["LastUpdate"]["Error"]["ErrorMessage"]
    assert "often" not in env["LastUpdate"]["Error"]["ErrorMessage"]  # configuration values are not repeated
    assert env["MaxWorkers"] == 3 and env["AirflowConfigurationOptions"] == {}  # the previous spec again
    airflow = Airflow(plane, "rb")
    wait_for(lambda: airflow.get("/dags/simple").status_code == 200, timeout=60, what="the DAG")
    import httpx

    unpause = httpx.patch(f"{airflow.base}/api/v2/dags/simple", json={"is_paused": False}, headers=airflow.headers)
    assert unpause.status_code == 200, unpause.text
    assert trigger_and_wait(airflow, "simple") == "success"
    mwaa.update_environment(Name="rb", MaxWorkers=5)  # a new update is accepted after UPDATE_FAILED
    wait_for(lambda: mwaa.get_environment(Name="rb")["Environment"]["Status"] == "AVAILABLE", timeout=300,
             interval=1, what="the next update")


def test_airflow_2_11_2_runs_a_dag(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "af2", "af2-bucket", DAG_V2, AirflowVersion="2.11.2",
                 AirflowConfigurationOptions={"core.dags_are_paused_at_creation": "False"})
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    assert env["AirflowVersion"] == "2.11.2"
    airflow = Airflow2(plane, "af2")
    wait_for(lambda: airflow.get("/dags/simple2").status_code == 200, timeout=120, what="the DAG")
    run = airflow.post("/dags/simple2/dagRuns", {})
    assert run.status_code == 200, run.text
    run_id = run.json()["dag_run_id"]
    state = wait_for(lambda: (s := airflow.get(f"/dags/simple2/dagRuns/{run_id}").json()["state"])
                     in ("success", "failed") and s, timeout=180, what="the run")
    assert state == "success"


class Airflow2(Airflow):
    """Airflow 2's REST API under /api/v1 with basic auth."""

    def __init__(self, plane, name):
        import httpx


        self.placement = plane.environments.placement(name)
        self.base = f"http://127.0.0.1:{self.placement.web_port}"
        user, password = plane.driver.web_login(self.placement)
        self.headers = {"Authorization": "Basic " + __import__("base64").b64encode(f"{user}:{password}".encode()).decode()}
        self._httpx = httpx

    def get(self, path):
        return self._httpx.get(f"{self.base}/api/v1{path}", headers=self.headers, timeout=10)

    def post(self, path, body):
        return self._httpx.post(f"{self.base}/api/v1{path}", headers=self.headers, json=body, timeout=10)
