"""The slower tier: every supported Airflow version other than the newest 2.x and 3.x (which the
suite proves end to end) gets a smoke run: create, one DAG runs, delete. Builds each version's venv
on first use, so it stays outside the suite's budget: `uv run pytest -m versions`."""

import datetime

import pytest

from aerodrome.domain.spec import SUPPORTED_AIRFLOW_VERSIONS, newest_of_line
from tests.support import available_environment, wait_for

OTHERS = [v for v in SUPPORTED_AIRFLOW_VERSIONS if not newest_of_line(v)]
pytestmark = [pytest.mark.e2e, pytest.mark.versions]

DAG = {2: '''
import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG("smoke", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo smoke on $AIRFLOW_VERSION")
''', 3: '''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("smoke", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo smoke on $AIRFLOW_VERSION")
'''}


@pytest.mark.parametrize("version", OTHERS)
def test_create_run_delete(plane, env_vars, version):
    name = "v" + version.replace(".", "-")
    major = int(version.split(".")[0])
    mwaa = available_environment(plane, env_vars, name, f"smoke-{name}", "smoke.py", DAG[major].encode(),
                                 AirflowVersion=version)
    assert mwaa.get_environment(Name=name)["Environment"]["AirflowVersion"] == version
    api = "/dags/smoke/dagRuns"
    wait_for(lambda: _answers(mwaa, name, "/dags/smoke"), timeout=180, interval=2, what="the DAG to be parsed")
    body = {"dag_run_id": "smoke-1"} if major == 2 else \
        {"dag_run_id": "smoke-1", "logical_date": datetime.datetime.now(datetime.UTC).isoformat()}
    mwaa.invoke_rest_api(Name=name, Path=api, Method="POST", Body=body)

    def finished():
        state = mwaa.invoke_rest_api(Name=name, Path=f"{api}/smoke-1", Method="GET")["RestApiResponse"]["state"]
        return state in ("success", "failed") and state

    state = wait_for(finished, timeout=300, interval=2, what=f"the run on {version}")
    if state != "success":
        log = mwaa.invoke_rest_api(Name=name, Path=f"{api}/smoke-1/taskInstances/t/logs/1", Method="GET")
        print(str(log["RestApiResponse"])[-4000:])  # shown with the failure
    assert state == "success"
    mwaa.delete_environment(Name=name)
    wait_for(lambda: name not in mwaa.list_environments()["Environments"], timeout=300, interval=1,
             what=f"{name} to be deleted")


def _answers(mwaa, name, path):
    from botocore.exceptions import ClientError

    try:
        return mwaa.invoke_rest_api(Name=name, Path=path, Method="GET")["RestApiStatusCode"] == 200
    except ClientError:
        return False
