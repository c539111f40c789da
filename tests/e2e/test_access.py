"""Access end to end, with real clients against one real Airflow 3 environment: the AWS CLI and
curl through the CLI bridge over HTTPS (trusting Aerodrome's CA, no --insecure), Airflow's own
MwaaHook through InvokeRestApi and through its local-token path, and headless Chromium signing in
through MWAA's SSO page as the role IAM-style policies grant."""

import base64
import datetime
import json
import subprocess
import sys
import uuid

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
)

pytestmark = pytest.mark.e2e

ENV = "access"
DAG = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("access_probe", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="hello", python_callable=lambda: print("hello from access_probe"))
'''
HOOK_SCRIPT = '''
import json, sys, time
from airflow.providers.amazon.aws.hooks.mwaa import MwaaHook
env, local, logical_date, run_id = sys.argv[1], sys.argv[2] == "local", sys.argv[3], sys.argv[4]
hook = MwaaHook()
def call(path, method, body=None):
    return hook.invoke_rest_api(env_name=env, path=path, method=method, body=body,
                                generate_local_token=local, airflow_version=3)
run = call("/dags/access_probe/dagRuns", "POST", {"logical_date": logical_date, "dag_run_id": run_id})
assert run["RestApiResponse"]["dag_run_id"] == run_id, run
deadline = time.time() + 120
while time.time() < deadline:
    state = call(f"/dags/access_probe/dagRuns/{run_id}", "GET")["RestApiResponse"]["state"]
    if state in ("success", "failed"):
        break
    time.sleep(1)
print(json.dumps({"status": run["RestApiStatusCode"], "run_id": run_id, "state": state}))
'''


@pytest.fixture(scope="module")
def mwaa(shared_plane, env_vars):
    admin = available_environment(shared_plane, env_vars, ENV, "access-bucket", "access_probe.py", DAG)
    yield admin
    delete_environments(admin, [ENV])


@pytest.fixture(scope="module")
def web(mwaa, env_vars):
    """Base URL of the environment's HTTPS endpoint, once Airflow answers behind it with the DAG parsed."""
    host = mwaa.get_environment(Name=ENV)["Environment"]["WebserverUrl"]
    base = f"https://{host}"
    wait_for(lambda: _ok(f"{base}/api/v2/monitor/health", env_vars), timeout=60, what="the web endpoint")
    return base


def _ok(url, env_vars):
    try:
        return httpx.get(url, verify=trusting(env_vars), timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def aws(env_vars, *args):
    result = subprocess.run([sys.executable, "-m", "awscli", "mwaa", *args, "--output", "json"],
                            env=env_vars, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_bridge_with_aws_cli_and_curl(mwaa, web, env_vars):
    reply = aws(env_vars, "create-cli-token", "--name", ENV)
    host, token = reply["WebServerHostname"], reply["CliToken"]
    assert web == f"https://{host}"
    status, body = bridge(env_vars, host, token, "dags trigger access_probe")
    stdout, stderr, code = decoded(body)
    assert (status, code) == (200, 0), stderr
    assert "access_probe" in stdout

    def finished():  # a CLI token lasts 60 s: take a new one for each poll, as a script would
        fresh = mwaa.create_cli_token(Name=ENV)["CliToken"]
        status, body = bridge(env_vars, host, fresh, "dags list-runs access_probe -o json")
        assert status == 200
        runs = json_line(decoded(body)[0])
        return runs and runs[0]["state"] in ("success", "failed") and runs[0]["state"]

    assert wait_for(finished, timeout=120, interval=2, what="the triggered run") == "success"

    token = aws(env_vars, "create-cli-token", "--name", ENV)["CliToken"]  # reused below, within 60 s
    status, body = bridge(env_vars, host, token, "dags trigger no_such_dag")
    assert status == 200 and decoded(body)[2] != 0
    status, _ = bridge(env_vars, host, token, "dags trigger no_such_dag", "--header", "X-Aerodrome-Fail-On-Error: 1")
    assert status == 400
    status, body = bridge(env_vars, host, token, "users create --role Admin -u x")
    assert status == 400 and "not supported: users" in body
    status, body = bridge(env_vars, host, "forged" + token[6:], "dags list")
    assert status == 403 and "not valid" in body


@pytest.mark.parametrize("path", ["invoke", "local"])
def test_mwaa_hook_triggers_a_run_that_succeeds(mwaa, web, env_vars, path):
    venv = VENVS / "airflow-3.3.2"
    with_hook = {**env_vars, "AIRFLOW_HOME": str(VENVS / f".access-hook-{path}"),
                 "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws"}),
                 "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    logical_date = (datetime.datetime.now(datetime.UTC)
                    + datetime.timedelta(seconds=1 if path == "invoke" else 2)).isoformat()
    result = subprocess.run([str(venv / "bin" / "python"), "-c", HOOK_SCRIPT, ENV, path, logical_date,
                             f"hook-{path}-{uuid.uuid4().hex[:8]}"],
                            env=with_hook, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200 and outcome["state"] == "success", outcome


def test_invoke_rest_api_errors_come_back_as_mwaa_errors(mwaa, web):
    from botocore.exceptions import ClientError

    ok = mwaa.invoke_rest_api(Name=ENV, Path="/dags/access_probe", Method="GET")
    assert ok["RestApiStatusCode"] == 200 and ok["RestApiResponse"]["dag_id"] == "access_probe"
    with pytest.raises(ClientError) as caught:
        mwaa.invoke_rest_api(Name=ENV, Path="/dags/no_such_dag", Method="GET")
    error = caught.value.response
    assert error["Error"]["Code"] == "RestApiClientException"
    assert error["RestApiStatusCode"] == 404 and "no_such_dag" in json.dumps(error["RestApiResponse"])


ISSUED: list[str] = []  # every token handed out here, checked against logs at the end


def viewer_client(plane, name="viewer"):
    key, secret = plane.principals.create(name)
    plane.principals.attach(name, "web", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["airflow:CreateWebLoginToken", "airflow:GetEnvironment"],
         "Resource": [f"arn:aws:airflow:us-east-1:000000000000:role/{ENV}/Viewer",
                      f"arn:aws:airflow:us-east-1:000000000000:environment/{ENV}"]}]}))
    return mwaa_client(plane, key, secret)


def sign_in(browser, web, token, *, prefix="/aws_mwaa"):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{web}{prefix}/aws-console-sso?login=true#{token}")
    page.wait_for_url(f"{web}/**", timeout=30000)
    page.wait_for_function("document.querySelector('#root') && document.querySelector('#root').children.length > 0",
                           timeout=30000)
    return context, page


def trigger(page):
    return fetch(page, "POST", "/api/v2/dags/access_probe/dagRuns",
                 {"logical_date": None, "dag_run_id": f"web-{uuid.uuid4().hex[:8]}"})


def test_admin_signs_in_through_the_sso_page(mwaa, web, browser):
    reply = mwaa.create_web_login_token(Name=ENV)
    ISSUED.append(reply["WebToken"])
    assert f"https://{reply['WebServerHostname']}" == web
    context, page = sign_in(browser, web, reply["WebToken"])
    assert "Airflow" in page.title()
    assert reply["WebToken"] not in page.url  # the page drops the fragment once it has used it
    me = fetch(page, "GET", "/ui/auth/me")
    assert me["status"] == 200 and json.loads(me["text"])["username"] == "assumed-role/admin"
    cookie = next(c for c in context.cookies() if c["name"] == "_token")
    assert cookie["httpOnly"] and cookie["secure"]
    assert trigger(page)["status"] == 200
    context.close()


def test_viewer_lands_on_the_ui_but_cannot_trigger(plane, web, browser, env_vars):
    viewer = viewer_client(plane)
    reply = viewer.create_web_login_token(Name=ENV)
    ISSUED.append(reply["WebToken"])
    assert reply["AirflowIdentity"] == "assumed-role/viewer"
    context, page = sign_in(browser, web, reply["WebToken"], prefix="/pluginsv2/aws_mwaa")
    assert "Airflow" in page.title()
    me = fetch(page, "GET", "/ui/auth/me")
    assert json.loads(me["text"])["username"] == "assumed-role/viewer"
    assert fetch(page, "GET", "/api/v2/dags/access_probe")["status"] == 200
    assert trigger(page)["status"] == 403
    # the same token a second time: refused
    again = fetch(page, "POST", "/aws_mwaa/login", form={"token": reply["WebToken"]})
    assert again["status"] == 403 and "already used" in again["text"]
    context.close()


def sso_sign_in(browser, web, person):
    """A fresh browser opens the environment with no session: the identity provider's page, then
    back. Returns (context, page) on wherever that ended."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{web}/")
    identity_provider.sign_in(page, person)
    page.wait_for_load_state("load")
    return context, page


def test_people_sign_in_through_the_identity_provider_with_the_role_their_groups_give(mwaa, web, browser, idp):
    context, page = sso_sign_in(browser, web, "alice")
    page.wait_for_url(f"{web}/**", timeout=30000)
    page.wait_for_function("document.querySelector('#root') && document.querySelector('#root').children.length > 0",
                           timeout=30000)
    me = json.loads(fetch(page, "GET", "/ui/auth/me")["text"])
    assert me["username"] == "alice", me
    assert trigger(page)["status"] == 200
    cookies = {c["name"]: c for c in context.cookies()}
    for name in ("aerodrome_sso", "_token"):
        assert cookies[name]["httpOnly"] and cookies[name]["secure"] and cookies[name]["sameSite"] == "Lax", name
    # Airflow's sign-out ends Aerodrome's session and the provider's: opening the UI asks to sign in again
    page.goto(f"{web}/api/v2/auth/logout")
    page.locator("button", has_text="Yes, sign me out").click()
    page.wait_for_url("**/sso/signed-out", timeout=30000)
    assert "signed out" in page.inner_text("#message")
    assert not {"aerodrome_sso", "_token"} & {c["name"] for c in context.cookies()}
    page.goto(f"{web}/")
    page.wait_for_selector("input[name=login]", timeout=30000)
    context.close()

    context, page = sso_sign_in(browser, web, "victor")  # airflow-viewers -> Viewer
    page.wait_for_url(f"{web}/**", timeout=30000)
    me = json.loads(fetch(page, "GET", "/ui/auth/me")["text"])
    assert me["username"] == "victor", me
    assert fetch(page, "GET", "/api/v2/dags/access_probe")["status"] == 200
    assert trigger(page)["status"] == 403
    context.close()


@pytest.mark.parametrize(("person", "says"), [("ursula", "none of your groups (marketing) has a role"),
                                              ("nobody", "no 'groups' claim")])
def test_a_person_without_a_mapped_group_is_refused_with_a_clear_page(mwaa, web, browser, idp, person, says):
    context, page = sso_sign_in(browser, web, person)
    page.wait_for_selector("#message", timeout=30000)
    assert says in page.inner_text("#message")
    assert "_token" not in {c["name"] for c in context.cookies()}
    context.close()


def test_a_person_signs_in_to_the_control_plane_as_the_principal_their_group_maps_to(plane, browser, idp):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{plane.settings.endpoint_url}/sso/login?next=/sso/me")
    identity_provider.sign_in(page, "alice")
    page.wait_for_url("**/sso/me", timeout=30000)
    assert json.loads(page.inner_text("body")) == {"person": "alice", "groups": ["airflow-admins", "platform-admins"],
                                                   "principal": "admin"}
    context.close()


def test_a_forged_sign_in_state_is_refused(plane, idp):
    callback = f"{plane.settings.endpoint_url}/sso/callback"
    forged = httpx.get(callback, params={"state": "forged", "code": "x"}, cookies={"aerodrome_sso_state": "other"})
    assert forged.status_code == 401 and "not started in this browser" in forged.text
    unknown = httpx.get(callback, params={"state": "s", "code": "x"}, cookies={"aerodrome_sso_state": "s"})
    assert unknown.status_code == 401 and "unknown" in unknown.text
    nowhere = httpx.get(f"{plane.settings.endpoint_url}/sso/login", params={"environment": "no-such-env"})
    assert nowhere.status_code == 404
    assert httpx.get(f"{plane.settings.endpoint_url}/sso/me").status_code == 401


def test_a_viewer_token_cannot_become_admin(plane, web, env_vars):
    viewer = viewer_client(plane, "viewer2")
    token = viewer.create_web_login_token(Name=ENV)["WebToken"]
    ISSUED.append(token)
    with httpx.Client(verify=trusting(env_vars)) as http:
        login = http.post(f"{web}/aws_mwaa/login", data={"token": token, "role": "Admin"})
        assert login.status_code == 200 and login.json() == {"role": "Viewer"}
        jwt = login.cookies["_token"]
        ISSUED.append(jwt)
        assert trigger_with(http, web, {"_token": jwt}).status_code == 403
        header, payload, signature = jwt.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["role"] = "ADMIN"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        forged = f"{header}.{forged_payload}.{signature}"
        assert trigger_with(http, web, {"_token": forged}).status_code in (401, 403)
        http.cookies.clear()
        assert http.get(f"{web}/api/v2/dags", headers={"Cookie": f"_token={jwt}"}).status_code == 200
        assert http.get(f"{web}/api/v2/dags", headers={"Cookie": f"_token={forged}"}).status_code in (401, 403)
    denied = viewer_client(plane, "viewer3")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        denied.invoke_rest_api(Name=ENV, Path="/dags", Method="GET")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "No Airflow role granted in IAM" in caught.value.response["Error"]["Message"]


def trigger_with(http, web, cookies):
    http.cookies.clear()
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return http.post(f"{web}/api/v2/dags/access_probe/dagRuns", headers={"Cookie": cookie},
                     json={"logical_date": None, "dag_run_id": f"forged-{uuid.uuid4().hex[:8]}"})


def test_no_secret_reaches_the_logs_or_audit(plane, mwaa, plane_log_lines):
    key, secret = plane.credentials.admin()
    placement_root = plane.settings.environments_dir / plane.environments.placement(ENV).env_id
    secrets = [secret, *(p.read_text().strip() for p in (placement_root / "secrets").glob("*.secret")), *ISSUED]
    assert len(secrets) > 4
    text = "\n".join(plane_log_lines) + json.dumps(plane.principals.audit(limit=1000)) + \
        json.dumps(plane.principals.describe())
    assert "CreateWebLoginToken" in text and "web-login" in text
    leaked = [s[:6] for s in secrets if s and s in text]
    assert not leaked, f"secrets found in logs/audit (first characters): {leaked}"
