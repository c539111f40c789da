"""Access on Airflow 2.11.2: the CLI bridge (MWAA's Airflow 2 command list), MwaaHook through
InvokeRestApi and its local-token login (FAB session), a browser SSO login as the granted role, and
a plugins.zip whose hook and macro a task uses and whose Flask blueprint and FAB view answer
through the environment's HTTPS endpoint."""

import datetime
import json
import subprocess
import time
import uuid

import boto3
import httpx
import pytest

from tests import identity_provider
from tests.support import (
    VENVS,
    available_environment,
    bridge,
    decoded,
    delete_environments,
    fetch,
    json_line,
    mwaa_client,
    trusting,
    wait_for,
    zipped,
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

PLUGIN = b'''
from airflow.hooks.base import BaseHook
from airflow.plugins_manager import AirflowPlugin
from flask import Blueprint
from flask_appbuilder import BaseView, expose


class ProbeHook(BaseHook):
    def __init__(self, conn_id="aws_default"):
        super().__init__()
        self.conn_id = conn_id

    def describe(self, word):
        return f"{word} via {self.get_connection(self.conn_id).conn_type}"


def shout(text):
    return text.upper() + "!"


probe_blueprint = Blueprint("aerodrome_probe", __name__, url_prefix="/aerodrome-probe")


@probe_blueprint.route("/ping")
def ping():
    return "pong from the plugin blueprint"


class ProbeView(BaseView):
    route_base = "/aerodrome-probe-view"
    default_view = "index"

    @expose("/")
    def index(self):
        return "hello from the plugin view"


class AerodromeProbePlugin(AirflowPlugin):
    name = "aerodrome_probe"
    hooks = [ProbeHook]
    macros = [shout]
    flask_blueprints = [probe_blueprint]
    appbuilder_views = [{"name": "Plugin probe", "category": "Aerodrome", "view": ProbeView()}]
'''
PLUGIN_DAG = b'''
import datetime
from airflow import DAG
from airflow.operators.python import PythonOperator
from aerodrome_probe_plugin import ProbeHook  # from plugins.zip

def use_hook(word, ti):
    ti.xcom_push(key="out", value=ProbeHook().describe(word))

with DAG("plug2", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="use", python_callable=use_hook,
                   op_kwargs={"word": "{{ macros.aerodrome_probe.shout(dag.dag_id) }}"})
'''


@pytest.fixture(scope="module")
def mwaa2(shared_plane, env_vars):
    uploads = {"dags/plug2.py": PLUGIN_DAG, "plugins.zip": zipped({"aerodrome_probe_plugin.py": PLUGIN})}
    admin = available_environment(shared_plane, env_vars, ENV, "af2-access", "simple2.py", DAG, uploads=uploads,
                                  AirflowVersion="2.11.2", PluginsS3Path="plugins.zip")
    yield admin
    delete_environments(admin, [ENV])


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
        runs = json_line(decoded(bridge(env_vars, host, fresh, "dags list-runs -d simple2 -o json")[1])[0])
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
    viewer = mwaa_client(plane, key, secret)
    for mwaa, role, expected in ((viewer, "Viewer", 403), (mwaa2, "Admin", 200)):
        reply = mwaa.create_web_login_token(Name=ENV)
        assert reply["AirflowIdentity"] == f"mwaa-{role.lower()}"
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"https://{host}/aws_mwaa/aws-console-sso?login=true#{reply['WebToken']}")
        page.wait_for_url(f"https://{host}/home*", timeout=30000)
        assert "Airflow" in page.title()
        if role == "Admin":  # the plugin's FAB view is in the menu (category "Aerodrome")
            assert page.locator("a", has_text="Plugin probe").count() == 1
        assert fetch(page, "GET", "/api/v1/dags/simple2")["status"] == 200
        logical = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)).isoformat()
        triggered = fetch(page, "POST", "/api/v1/dags/simple2/dagRuns", {"logical_date": logical})
        assert triggered["status"] == expected, triggered
        context.close()


def test_single_sign_on_on_airflow_2_gives_the_mapped_role(mwaa2, browser, idp):
    host = mwaa2.get_environment(Name=ENV)["Environment"]["WebserverUrl"]
    for person, expected in (("olga", 200), ("victor", 403)):  # airflow-ops -> Op, airflow-viewers -> Viewer
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"https://{host}/home")
        identity_provider.sign_in(page, person)
        page.wait_for_url(f"https://{host}/home*", timeout=30000)
        assert "Airflow" in page.title()
        # the role is what is tested: first wait until the web server answers this session's reads
        wait_for(lambda page=page: fetch(page, "GET", "/api/v1/dags/simple2")["status"] == 200, timeout=60,
                 what="the Airflow 2 web server to answer the signed-in session")
        logical = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)).isoformat()
        triggered = fetch(page, "POST", "/api/v1/dags/simple2/dagRuns", {"logical_date": logical})
        assert triggered["status"] == expected, (person, triggered)
        context.close()


def test_plugin_hook_and_macro_reach_the_task(mwaa2):
    run_id = f"r-{uuid.uuid4().hex[:6]}"  # InvokeRestApi paths are at most 64 characters

    def rest(path, method="GET", body=None):
        extra = {"Body": body} if body is not None else {}
        return mwaa2.invoke_rest_api(Name=ENV, Path=path, Method=method, **extra)["RestApiResponse"]

    wait_for(lambda: _answers(mwaa2, "/dags/plug2"), timeout=90, interval=2, what="plug2 to be parsed")
    loaded = {p["name"]: p for p in rest("/plugins")["plugins"]}["aerodrome_probe"]  # as the web server sees it
    assert loaded["hooks"] == ["aerodrome_probe_plugin.ProbeHook"], loaded
    assert loaded["macros"] == ["aerodrome_probe_plugin.shout"], loaded
    assert loaded["flask_blueprints"] and loaded["appbuilder_views"], loaded
    assert rest("/dags/plug2/dagRuns", "POST", {"dag_run_id": run_id})["dag_run_id"] == run_id

    def finished():
        state = rest(f"/dags/plug2/dagRuns/{run_id}")["state"]
        return state in ("success", "failed") and state

    assert wait_for(finished, timeout=180, interval=2, what="the plugin run") == "success"
    xcom = rest(f"/dags/plug2/dagRuns/{run_id}/taskInstances/use/xcomEntries/out")
    assert xcom["value"] == "PLUG2! via aws"  # the macro rendered the templated field, the hook read the connection


def _answers(mwaa, path):
    from botocore.exceptions import ClientError

    try:
        return mwaa.invoke_rest_api(Name=ENV, Path=path, Method="GET")["RestApiStatusCode"] == 200
    except ClientError:
        return False


def test_plugin_blueprint_and_view_answer_through_the_web_endpoint(mwaa2, env_vars):
    host = mwaa2.get_environment(Name=ENV)["Environment"]["WebserverUrl"]
    with httpx.Client(verify=trusting(env_vars), timeout=30) as http:
        blueprint = http.get(f"https://{host}/aerodrome-probe/ping")
        assert (blueprint.status_code, blueprint.text) == (200, "pong from the plugin blueprint")
        view = http.get(f"https://{host}/aerodrome-probe-view/")
        assert (view.status_code, view.text) == (200, "hello from the plugin view")


CALLER = "af3caller"
CALLER_ROLE = "caller-exec"
CALLER_DAGS = b'''
import datetime
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.amazon.aws.operators.mwaa import MwaaTriggerDagRunOperator
from airflow.providers.amazon.aws.sensors.mwaa import MwaaDagRunSensor, MwaaTaskSensor

START = datetime.datetime(2026, 1, 1)

with DAG("hello", start_date=START, schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo hello")

with DAG("probe", start_date=START, schedule=None, catchup=False):
    @task
    def reach():
        import boto3
        import requests
        from botocore.exceptions import ClientError
        arn = boto3.client("sts").get_caller_identity()["Arn"]
        boto3.client("cloudwatch").put_metric_data(Namespace="Probe", MetricData=[  # the role may, as on MWAA
            {"MetricName": "Reached", "Value": 1, "Dimensions": [{"Name": "Environment", "Value": "af3caller"}]}])
        from airflow.providers.amazon.aws.hooks.mwaa import MwaaHook
        outcomes = []
        for call in (lambda: boto3.client("mwaa").invoke_rest_api(Name="af2access", Path="/dags/simple2",
                                                                  Method="GET"),
                     # denied InvokeRestApi, the hook falls back to a web login token and the web server
                     lambda: MwaaHook().invoke_rest_api(env_name="af2access", path="/dags/simple2",
                                                        method="GET", airflow_version=2)):
            try:
                outcomes.append(str(call()["RestApiStatusCode"]))
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])
            except requests.Timeout:  # MwaaHook gives the web server 10 s: a busy test host may need longer
                outcomes.append("Timeout")
            except Exception as error:  # noqa: BLE001 - shown in the probe's answer
                outcomes.append(f"{type(error).__name__}({error})")
        return f"{' '.join(outcomes)} as {arn}"
    reach()

# As the provider's example_mwaa system test uses them, against a 2.11.2 and a 3.3.2 environment
TARGETS = {"af2access": ("simple2", 2), "af3caller": ("hello", 3)}
with DAG("remote", start_date=START, schedule=None, catchup=False, max_active_tasks=3):
    for env, (dag_id, version) in TARGETS.items():
        common = dict(env_name=env, trigger_dag_id=dag_id, airflow_version=version)
        # Airflow 3's API wants a logical date (None is dropped from the body): as the system test gives it
        when = lambda: {"logical_date": datetime.datetime.now(datetime.timezone.utc).isoformat()} \
            if version == 3 else {}
        MwaaTriggerDagRunOperator(task_id=f"wait_{env}", wait_for_completion=True, waiter_delay=2,
                                  waiter_max_attempts=90, **common, **when())
        MwaaTriggerDagRunOperator(task_id=f"defer_{env}", wait_for_completion=True, deferrable=True,
                                  waiter_delay=2, waiter_max_attempts=90, **common, **when())
        fire = MwaaTriggerDagRunOperator(task_id=f"fire_{env}", **common, **when())
        run_id = "{{ ti.xcom_pull(task_ids='fire_%s')['RestApiResponse']['dag_run_id'] }}" % env
        fire >> MwaaDagRunSensor(task_id=f"run_{env}", external_env_name=env, external_dag_id=dag_id,
                                 external_dag_run_id=run_id, airflow_version=version, poke_interval=2) \\
             >> MwaaTaskSensor(task_id=f"task_{env}", external_env_name=env, external_dag_id=dag_id,
                               external_dag_run_id=run_id, external_task_id="t", airflow_version=version,
                               poke_interval=2)
'''


def test_a_task_acts_as_its_execution_role_and_drives_other_environments(plane, mwaa2, env_vars):
    """A 3.3.2 environment's tasks get their execution role's temporary credentials: refused what the
    role lacks, allowed once its policy grants it; then Airflow's MWAA operators and sensors trigger
    and watch runs in the 2.11.2 environment and in their own."""
    from tests.support import Airflow

    every_log = {t: {"Enabled": True, "LogLevel": "INFO"} for t in ("TaskLogs", "SchedulerLogs", "WorkerLogs")}
    available_environment(plane, env_vars, CALLER, "af3-caller", "caller.py", CALLER_DAGS,
                          ExecutionRoleArn=f"arn:aws:iam::000000000000:role/service-role/{CALLER_ROLE}",
                          LoggingConfiguration=every_log)
    airflow = Airflow(plane, CALLER)
    wait_for(lambda: all(airflow.get(f"/dags/{d}").status_code == 200 for d in ("hello", "probe", "remote")),
             timeout=120, interval=2, what="the caller's DAGs to be parsed")
    identity = f"as arn:aws:sts::000000000000:assumed-role/{CALLER_ROLE}/{CALLER}"
    denied = "AccessDeniedException"
    assert _probe(airflow) == f"{denied} {denied} {identity}"  # the default execution-role policy

    roles = [f"arn:aws:airflow:us-east-1:000000000000:role/{env}/Admin" for env in (ENV, CALLER)]
    plane.principals.attach(CALLER_ROLE, "login", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "airflow:CreateWebLoginToken", "Resource": roles[0]}]}))
    assert _probe(airflow) == f"{denied} 200 {identity}"  # MwaaHook's fallback
    plane.principals.attach(CALLER_ROLE, "drive", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "airflow:InvokeRestApi", "Resource": roles}]}))
    assert _probe(airflow) == f"200 200 {identity}"
    cloudwatch = boto3.client("cloudwatch", endpoint_url=plane.settings.endpoint_url, region_name="us-east-1",
                              aws_access_key_id=plane.credentials.admin()[0],
                              aws_secret_access_key=plane.credentials.admin()[1])
    now = datetime.datetime.now(datetime.UTC)
    reached = cloudwatch.get_metric_statistics(
        Namespace="Probe", MetricName="Reached", Dimensions=[{"Name": "Environment", "Value": CALLER}],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=1), Period=3600,
        Statistics=["SampleCount"])["Datapoints"]
    assert sum(p["SampleCount"] for p in reached) >= 3  # each probe run's own put_metric_data
    _one_run_in_the_logs(plane, airflow)

    run = airflow.post("/dags/remote/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(lambda: airflow.state(f"/dags/remote/dagRuns/{run}") in ("success", "failed"), timeout=420,
             interval=2, what="the remote run")
    instances = airflow.get(f"/dags/remote/dagRuns/{run}/taskInstances").json()["task_instances"]
    states = {t["task_id"]: t["state"] for t in instances}
    failed = [t for t, state in states.items() if state == "failed"]
    logs = {t: airflow.get(f"/dags/remote/dagRuns/{run}/taskInstances/{t}/logs/1").text[-3000:] for t in failed}
    for task_id, log in logs.items():
        print(f"--- {task_id} failed; the end of its log:\n{log}")  # shown with the failure
    assert len(states) == 10 and set(states.values()) == {"success"}, states


def _one_run_in_the_logs(plane, airflow):
    """CloudWatch Logs, read with boto3 as MWAA users do, follows one probe run through the
    scheduler's, the worker's and the task's log groups."""
    key, secret = plane.credentials.admin()
    logs = boto3.client("logs", endpoint_url=plane.settings.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)
    run = airflow.get("/dags/probe/dagRuns?order_by=-start_date&limit=1").json()["dag_runs"][0]["dag_run_id"]

    def found(group, **where):
        return logs.filter_log_events(logGroupName=f"airflow-{CALLER}-{group}", **where)["events"]

    stream = f"dag_id=probe/run_id={run.replace(':', '_')}/"
    wait_for(lambda: found("Scheduler", filterPattern=f'"{run}"') and found("Worker", filterPattern=f'"{run}"')
             and found("Task", logStreamNamePrefix=stream),
             timeout=60, interval=2, what=f"run {run} in the scheduler, worker and task log groups")
    # and one Logs Insights query over the three groups
    now = int(time.time())
    query_id = logs.start_query(
        logGroupNames=[f"airflow-{CALLER}-{g}" for g in ("Scheduler", "Worker", "Task")], startTime=now - 3600,
        endTime=now + 60, queryString=f'fields @log, @logStream | filter @message like "{run}" or '
                                      f'@logStream like "{stream}" | stats count(*) as lines by @log')["queryId"]
    reply = wait_for(lambda: (r := logs.get_query_results(queryId=query_id))["status"] == "Complete" and r,
                     timeout=60, what="the Insights query")
    groups = {c["value"].split(":", 1)[1] for row in reply["results"] for c in row if c["field"] == "@log"}
    assert groups == {f"airflow-{CALLER}-{g}" for g in ("Scheduler", "Worker", "Task")}, reply["results"]


def _probe(airflow) -> str:
    """The probe's answer; asked again (twice at most) when the web server was too slow for MwaaHook."""
    for _ in range(3):
        answer = _probe_once(airflow)
        if "Timeout" not in answer:
            break
    return answer


def _probe_once(airflow) -> str:
    run = airflow.post("/dags/probe/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(lambda: airflow.state(f"/dags/probe/dagRuns/{run}") in ("success", "failed"), timeout=180,
             interval=1, what="the probe run")
    if airflow.state(f"/dags/probe/dagRuns/{run}") != "success":
        print(airflow.get(f"/dags/probe/dagRuns/{run}/taskInstances/reach/logs/1").text[-4000:])
    assert airflow.state(f"/dags/probe/dagRuns/{run}") == "success"
    reply = airflow.get(f"/dags/probe/dagRuns/{run}/taskInstances/reach/xcomEntries/return_value")
    assert reply.status_code == 200, reply.text
    value = reply.json()["value"]
    return value if isinstance(value, str) else json.dumps(value)
