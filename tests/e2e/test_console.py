"""The web console end to end, in headless Chromium against a control plane that collects metrics
every 2 s: sign in with an access key, create an environment from the form and watch it become
AVAILABLE in the list, see its plots draw real points (and its import errors, and add a schedule),
tail a task's new log line and find it,
render a stored dashboard, open the Airflow UI, be refused as a principal whose policy denies an
action (nothing changes), hibernate, resume and delete with confirmation; and sign in through
single sign-on on the session's plane. One environment for the module.

With AERODROME_CONSOLE_SCREENSHOTS set, the list, an environment's page and the logs view are saved
into docs/ (1280x800)."""

import json
import os
import shutil
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests import identity_provider
from tests.support import UNPAUSED, clients_of, connect, running_plane, trigger, wait_for, wait_for_dag

pytestmark = pytest.mark.e2e

ENV = "console"
BUCKET = "console-bucket"
DAG = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

def say(**context):
    print("console-probe", context["dag_run"].conf.get("word", "none"))

with DAG("console_probe", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="say", python_callable=say)
'''
DOCS = Path(__file__).resolve().parents[2] / "docs"
WIDE = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def plane(shared_plane, postgres_url, tmp_path_factory):
    """A plane of its own (metrics every 2 s) whose CA is the session plane's, which `browser` trusts."""
    home = tmp_path_factory.mktemp("console") / "home"
    (home / "tls").mkdir(parents=True)
    for name in ("ca.pem", "ca.key"):
        shutil.copy2(shared_plane.settings.tls_dir / name, home / "tls" / name)
    with running_plane(home, postgres_url=postgres_url, metrics_interval=2.0) as control_plane:
        _, s3 = clients_of(control_plane)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="dags/console_probe.py", Body=DAG)
        yield control_plane


@pytest.fixture(scope="module")
def page(plane, browser):
    context = browser.new_context(viewport=WIDE)
    context.set_default_timeout(30000)
    yield context.new_page()
    context.close()


def admin_key(plane):
    return plane.credentials.admin()


def sign_in(page, url, key, secret):
    page.goto(url)
    page.fill("#key", key)
    page.fill("#secret", secret)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#principal")


def screenshot(page, name):
    if os.environ.get("AERODROME_CONSOLE_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / name))


def cloudwatch(plane, service="cloudwatch"):
    key, secret = admin_key(plane)
    return boto3.client(service, endpoint_url=plane.settings.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def status_is(page, status, timeout):
    page.wait_for_selector(f"h1 .badge[data-status={status}]", timeout=timeout * 1000)


def test_sign_in_with_an_access_key(plane, page):
    key, secret = admin_key(plane)
    page.goto(plane.settings.console_url)
    page.fill("#key", key)
    page.fill("#secret", "not the secret")
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#signin-error:has-text('wrong')")
    sign_in(page, plane.settings.console_url, key, secret)
    assert page.inner_text("#principal") == "admin"
    page.wait_for_selector("#environments td.empty")  # an empty list says so
    cookie = next(c for c in page.context.cookies() if c["name"] == "aerodrome_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"


def test_create_from_the_form_and_watch_it_become_available(plane, page):
    page.click("nav a[href='#/create']")
    page.fill("#f-Name", ENV)
    page.fill("#f-SourceBucketArn", f"arn:aws:s3:::{BUCKET}")
    page.fill("#f-MaxWorkers", "2")
    page.fill("#f-AirflowConfigurationOptions", "\n".join(f"{k}={v}" for k, v in UNPAUSED.items()))
    command = page.inner_text("#cli-command")
    assert command.startswith("aws mwaa create-environment") and f"--name {ENV}" in command
    assert f"--source-bucket-arn arn:aws:s3:::{BUCKET}" in command and "--dag-s3-path dags" in command
    page.click("#create")
    page.wait_for_url(f"**/console#/env/{ENV}")
    status_is(page, "AVAILABLE", timeout=240)
    page.click("nav a[href='#/']")
    page.wait_for_selector(f"tr[data-name={ENV}] .badge[data-status=AVAILABLE]")
    row = page.inner_text(f"tr[data-name={ENV}]")
    assert "mw1.small" in row and "(1–2)" in row
    screenshot(page, "console-environments.png")


def test_the_list_filters_and_reads_at_phone_width(plane, page, browser):
    page.fill("#filter", "no-such-environment")
    page.wait_for_selector("#environments td.empty:has-text('No environment matches')")
    page.fill("#filter", "")
    page.wait_for_selector(f"tr[data-name={ENV}]")
    for _ in range(30):  # the environment's page opens from the keyboard alone
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == ENV:
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console#/env/{ENV}")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{plane.settings.console_url}#/")
    page.wait_for_selector(f"tr[data-name={ENV}]")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size(WIDE)


def test_its_plots_draw_real_points(plane, page):
    page.goto(f"{plane.settings.console_url}#/env/{ENV}")
    for plot in ("cpu", "memory", "workers", "tasks", "database"):
        page.wait_for_selector(f"#plot-{plot} circle.pt", timeout=60000)
    worker_points = page.locator("#plot-workers circle.pt title").all_text_contents()
    assert any(t.startswith("Base worker: 1 ") for t in worker_points), worker_points
    page.wait_for_selector("#timeline li:has-text('CREATING → AVAILABLE')")
    page.wait_for_selector("#import-errors:has-text('No import errors')")  # InvokeRestApi, as the principal
    page.select_option("#schedule-kind", "hibernate")
    page.fill("#schedule-cron", "0 3 1 1 *")
    page.click("#schedules button[type=submit]")
    page.wait_for_selector("#schedules li:has-text('hibernate at \"0 3 1 1 *\"')")


def test_the_logs_view_tails_a_task_s_new_line_and_finds_it(plane, page):
    airflow = connect(plane, ENV)
    wait_for_dag(airflow, "console_probe")
    word = f"word-{uuid.uuid4().hex[:8]}"
    page.goto(f"{plane.settings.console_url}#/env/{ENV}/logs")
    page.fill("#log-filter", "console-probe")
    page.wait_for_selector("#log-status:has-text('No events match')")
    trigger(airflow, "console_probe", {"logical_date": None, "conf": {"word": word}})
    page.wait_for_selector(f"#log-rows td.message:has-text('{word}')", timeout=90000)  # the live tail, no reload
    phrase = f'"console-probe {word}"'
    page.fill("#log-filter", phrase)  # a new search finds exactly it
    page.wait_for_selector(f"#log-rows[data-filter='{phrase}']")
    found = page.locator("#log-rows td.message").all_text_contents()
    assert found and all(word in line for line in found), found
    screenshot(page, "console-logs.png")


def test_a_stored_dashboard_renders_its_widgets(plane, page):
    metric = ["AWS/MWAA", "MemoryUtilization", "Environment", ENV, "Cluster", "Scheduler"]
    body = {"widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
         "properties": {"title": "Scheduler memory", "view": "timeSeries", "stat": "Average", "period": 60,
                        "region": "us-east-1", "metrics": [metric, ["...", "WebServer"]]}},
        {"type": "metric", "x": 12, "y": 0, "width": 6, "height": 6,
         "properties": {"title": "Workers now", "view": "singleValue", "stat": "Maximum", "region": "us-east-1",
                        "metrics": [["AWS/MWAA", "NumWorkers", "Environment", ENV]]}}]}
    cloudwatch(plane).put_dashboard(DashboardName="utilization", DashboardBody=json.dumps(body))
    page.click("nav a[href='#/dashboards']")
    page.click("#dashboards a:has-text('utilization')")
    page.wait_for_selector(".widget circle.pt", timeout=30000)
    assert "Scheduler" in page.inner_text(".widget .legend") and "WebServer" in page.inner_text(".widget .legend")
    wait_for(lambda: page.inner_text(".widget .number") == "1", timeout=30, what="the number widget")


def test_open_airflow_ui_signs_in_with_the_principals_role(plane, page):
    page.goto(f"{plane.settings.console_url}#/env/{ENV}")
    page.wait_for_selector("#open-ui:not([disabled])")
    with page.context.expect_page() as opened:
        page.click("#open-ui")
    airflow_page = opened.value
    host = clients_of(plane)[0].get_environment(Name=ENV)["Environment"]["WebserverUrl"]
    airflow_page.wait_for_url(f"https://{host}/**", timeout=30000)
    airflow_page.wait_for_function("document.querySelector('#root') && document.querySelector('#root').children.length",
                                   timeout=30000)
    me = airflow_page.evaluate("fetch('/ui/auth/me').then(r => r.json())")
    assert me["username"] == "assumed-role/admin" and me.get("role") in (None, "ADMIN", "Admin"), me
    airflow_page.close()


def test_a_principal_whose_policy_denies_hibernate_is_refused_and_nothing_changes(plane, browser):
    key, secret = plane.principals.create("watcher")
    plane.principals.attach("watcher", "read", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["airflow:Get*", "airflow:List*", "cloudwatch:*", "logs:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "airflow:HibernateEnvironment", "Resource": "*"}]}))
    context = browser.new_context(viewport=WIDE)
    try:
        page = context.new_page()
        sign_in(page, plane.settings.console_url, key, secret)
        page.goto(f"{plane.settings.console_url}#/env/{ENV}")
        page.click("#hibernate")
        page.click("#confirm-yes")
        refusal = page.wait_for_selector("#notice .bad").inner_text()
        assert "AccessDeniedException" in refusal and "watcher" in refusal, refusal
    finally:
        context.close()
    assert clients_of(plane)[0].get_environment(Name=ENV)["Environment"]["Status"] == "AVAILABLE"
    entries = [(e["principal"], e["action"], e["outcome"]) for e in plane.principals.audit(limit=200)]
    assert ("watcher", "airflow:HibernateEnvironment", "denied") in entries


def test_hibernate_and_resume_with_confirmation(plane, page):
    page.goto(f"{plane.settings.console_url}#/env/{ENV}")
    if os.environ.get("AERODROME_CONSOLE_SCREENSHOTS"):  # the last minutes, with the task's run in them
        page.select_option("#range", "300")
        page.wait_for_selector("#plots-updated:has-text('5 s per point')")
        page.wait_for_selector("#plot-memory circle.pt")
        screenshot(page, "console-environment.png")
    page.click("#hibernate")
    page.click("#confirm-no")  # cancelled: nothing happens
    assert clients_of(plane)[0].get_environment(Name=ENV)["Environment"]["Status"] == "AVAILABLE"
    page.click("#hibernate")
    page.click("#confirm-yes")
    status_is(page, "HIBERNATED", timeout=120)
    page.click("#resume")
    status_is(page, "AVAILABLE", timeout=180)
    entries = [(e["principal"], e["action"]) for e in plane.principals.audit(limit=200)]
    assert ("admin", "airflow:HibernateEnvironment") in entries and ("admin", "airflow:ResumeEnvironment") in entries


def test_delete_with_confirmation(plane, page):
    page.goto(f"{plane.settings.console_url}#/env/{ENV}")
    page.click("#delete")
    page.click("#confirm-yes")
    mwaa = clients_of(plane)[0]
    wait_for(lambda: ENV not in mwaa.list_environments()["Environments"], timeout=120, what="the deletion")


def test_single_sign_on_opens_the_console(shared_plane, browser, idp):
    context = browser.new_context(viewport=WIDE)
    try:
        page = context.new_page()
        page.goto(shared_plane.settings.console_url)
        page.click("#sso")
        identity_provider.sign_in(page, "alice")
        page.wait_for_selector("#principal")
        assert page.inner_text("#principal") == "alice (admin)"
        page.wait_for_selector("#environments")
    finally:
        context.close()
