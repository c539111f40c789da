"""Access on Airflow 2.11.2: the CLI bridge (MWAA's Airflow 2 command list), MwaaHook through
InvokeRestApi and its local-token login (FAB session), and a browser SSO login as the granted role."""

import datetime
import json
import subprocess
import uuid

import pytest

from tests.e2e.conftest import VENVS, wait_for
from tests.e2e.test_access import (  # noqa: F401 - module-scoped fixtures shared with the Airflow 3 checks
    available_environment,
    browser,
    bridge,
    client,
    decoded,
    env_vars,
    fetch,
    plane,
)

pytestmark = pytest.mark.e2e

ENV = "af2access"
DAG = b'''
import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG("simple2", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo ok")
'''
HOOK = '''
import json, sys
from airflow.providers.amazon.aws.hooks.mwaa import MwaaHook
env, local, run_id = sys.argv[1], sys.argv[2] == "local", sys.argv[3]
reply = MwaaHook().invoke_rest_api(env_name=env, path="/dags/simple2/dagRuns", method="POST",
                                   body={"dag_run_id": run_id}, generate_local_token=local, airflow_version=2)
print(json.dumps(reply))
'''


@pytest.fixture(scope="module")
def mwaa2(plane, env_vars):
    return available_environment(plane, env_vars, ENV, "af2-access", "simple2.py", DAG, AirflowVersion="2.11.2")


def test_cli_bridge_on_airflow_2(mwaa2, env_vars):
    reply = mwaa2.create_cli_token(Name=ENV)
    host = reply["WebServerHostname"]

    def parsed():  # a CLI token lasts 60 s: a new one for each poll
        status, body = bridge(env_vars, host, mwaa2.create_cli_token(Name=ENV)["CliToken"], "dags list -o json")
        stdout = decoded(body)[0]
        return status == 200 and "simple2" in stdout

    wait_for(parsed, timeout=120, interval=3, what="simple2 to be parsed")
    token = mwaa2.create_cli_token(Name=ENV)["CliToken"]
    status, body = bridge(env_vars, host, token, "dags trigger simple2")
    assert status == 200 and decoded(body)[2] == 0, decoded(body)[1]

    def finished():
        fresh = mwaa2.create_cli_token(Name=ENV)["CliToken"]
        stdout = decoded(bridge(env_vars, host, fresh, "dags list-runs -d simple2 -o json")[1])[0]
        runs = json.loads(next(line for line in stdout.splitlines() if line.startswith(("[{", "[]"))))
        return runs and runs[0]["state"] in ("success", "failed") and runs[0]["state"]

    assert wait_for(finished, timeout=180, interval=3, what="the run") == "success"
    status, body = bridge(env_vars, host, mwaa2.create_cli_token(Name=ENV)["CliToken"], "assets list")
    assert status == 400 and "not supported: assets" in body


@pytest.mark.parametrize("path", ["invoke", "local"])
def test_mwaa_hook_on_airflow_2(mwaa2, env_vars, path):
    run_id = f"hook2-{path}-{uuid.uuid4().hex[:8]}"
    with_hook = {**env_vars, "AIRFLOW_HOME": str(VENVS / f".access-hook2-{path}"),
                 "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws"})}
    result = subprocess.run([str(VENVS / "airflow-3.3.2" / "bin" / "python"), "-c", HOOK, ENV, path, run_id],
                            env=with_hook, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    reply = json.loads(result.stdout.strip().splitlines()[-1])
    assert reply["RestApiStatusCode"] == 200 and reply["RestApiResponse"]["dag_run_id"] == run_id


def test_sso_on_airflow_2_grants_the_role(plane, mwaa2, browser):
    host = mwaa2.get_environment(Name=ENV)["Environment"]["WebserverUrl"]
    key, secret = plane.principals.create("viewer-af2")
    plane.principals.attach("viewer-af2", "web", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "airflow:CreateWebLoginToken",
         "Resource": f"arn:aws:airflow:us-east-1:000000000000:role/{ENV}/Viewer"}]}))
    viewer = client(plane, key, secret)
    for mwaa, role, expected in ((viewer, "Viewer", 403), (mwaa2, "Admin", 200)):
        reply = mwaa.create_web_login_token(Name=ENV)
        assert reply["AirflowIdentity"] == f"mwaa-{role.lower()}"
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"https://{host}/aws_mwaa/aws-console-sso?login=true#{reply['WebToken']}")
        page.wait_for_url(f"https://{host}/home*", timeout=30000)
        assert "Airflow" in page.title()
        assert fetch(page, "GET", "/api/v1/dags/simple2")["status"] == 200
        logical = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)).isoformat()
        triggered = fetch(page, "POST", "/api/v1/dags/simple2/dagRuns", {"logical_date": logical})
        assert triggered["status"] == expected, triggered
        context.close()
