"""A broken update rolls back and the environment keeps serving."""

import pytest

from tests.support import Airflow, bash_dags, create, settle, trigger_and_wait, unpause, wait_for

pytestmark = pytest.mark.e2e

DAG_V3 = bash_dags(simple="echo ok").encode()


def test_failing_update_rolls_back_and_keeps_serving(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "rb", "rb-bucket", DAG_V3, MaxWorkers=3)
    assert env["Status"] == "AVAILABLE"
    # an option Airflow cannot parse makes the scheduler exit at start
    mwaa.update_environment(Name="rb", MaxWorkers=4,
                            AirflowConfigurationOptions={"scheduler.scheduler_heartbeat_sec": "often"})
    status, seen = settle(mwaa, "rb", timeout=300)
    assert status == "UPDATE_FAILED" and "ROLLING_BACK" in seen, seen
    env = mwaa.get_environment(Name="rb")["Environment"]
    assert env["LastUpdate"]["Status"] == "FAILED"
    assert "scheduler" in env["LastUpdate"]["Error"]["ErrorMessage"]
    assert "log:" in env["LastUpdate"]["Error"]["ErrorMessage"]
    assert "often" not in env["LastUpdate"]["Error"]["ErrorMessage"]  # configuration values are not repeated
    assert env["MaxWorkers"] == 3 and env["AirflowConfigurationOptions"] == {}  # the previous spec again
    airflow = Airflow(plane, "rb")
    wait_for(lambda: airflow.get("/dags/simple").status_code == 200, timeout=60, what="the DAG")
    unpause(airflow, "simple")
    assert trigger_and_wait(airflow, "simple") == "success"
    mwaa.update_environment(Name="rb", MaxWorkers=5)  # a new update is accepted after UPDATE_FAILED
    wait_for(lambda: mwaa.get_environment(Name="rb")["Environment"]["Status"] == "AVAILABLE", timeout=300,
             interval=1, what="the next update")
