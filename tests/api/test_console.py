"""The web console's rules without Airflow: sign-in with an access key, its session cookie, CSRF and
Origin checks on every POST, forged sessions, and every action going through the plane's own APIs
with the signed-in principal's temporary credentials (policies decide, the audit log names them)."""

import contextlib
import json
import re

import httpx
import pytest

from aerodrome.console.app import COOKIE, CSRF_HEADER, build_console_app
from aerodrome.console.plane_calls import PlaneCalls
from aerodrome.console.sessions import ConsoleSessions
from aerodrome.console.sign_in import SignIn
from aerodrome.services.credentials import CredentialService
from aerodrome.services.sso import Person
from aerodrome.services.sts import SecurityTokenService
from tests.support import minimal, serve_asgi

ORIGIN: dict = {}  # the console's own origin, once it is served


class StandInSignOn:
    """Single sign-on's two answers the console asks for (the real provider signs people in to the
    console in tests/e2e/test_console.py): who a session cookie names, and the principal they act as."""

    PEOPLE = {"alice-session": Person("alice", ("platform-admins",), "id-token", 2e9, "idp"),
              "ursula-session": Person("ursula", ("marketing",), "id-token", 2e9, "idp")}

    def person(self, cookie):
        return self.PEOPLE.get(cookie)

    def principal_for(self, person):
        return "admin" if "platform-admins" in person.groups else None


@contextlib.contextmanager
def served_console(control_plane, settings, store, sso=None):
    sessions = ConsoleSessions()
    sign_in = SignIn(sessions=sessions, credentials=CredentialService(store=store),
                     sts=SecurityTokenService(store=store, account=settings.account), sso=sso)
    app = build_console_app(sign_in=sign_in, calls=PlaneCalls(endpoint_url=control_plane["url"], region="us-east-1"),
                            secure=False, plane_url=control_plane["url"], web_scheme="https")
    with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        ORIGIN["Origin"] = url.rstrip("/")
        yield client
    sessions.close()


@pytest.fixture
def console(control_plane, settings, store):
    with served_console(control_plane, settings, store) as client:
        yield client


@pytest.fixture
def sso_console(control_plane, settings, store):
    with served_console(control_plane, settings, store, StandInSignOn()) as client:
        yield client


def signed_in(console, key, secret):
    reply = console.post("/console/api/sign-in", json={"AccessKeyId": key, "SecretAccessKey": secret}, headers=ORIGIN)
    assert reply.status_code == 200, reply.text
    return console.get("/console/api/session").json()["csrf"]


def call(console, csrf, operation, params, service="mwaa", headers=None):
    return console.post("/console/api/call", json={"Service": service, "Operation": operation, "Input": params},
                        headers={CSRF_HEADER: csrf, **ORIGIN} if headers is None else headers)


def test_the_page_ships_its_own_scripts_and_no_outside_address(console):
    page = console.get("/console")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    scripts = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert len(scripts) > 3 and all(s.startswith("/console/static/") for s in scripts)
    for path in scripts:
        body = console.get(path)
        outside = set(re.findall(r"https?://[^\s\"'`)]+", body.text)) - {"http://www.w3.org/2000/svg"}
        assert body.status_code == 200 and not outside, (path, outside)
    assert console.get("/console/static/..%2Fapp.py").status_code == 404


def test_a_wrong_secret_is_refused_and_a_right_one_gives_a_strict_http_only_cookie(control_plane, console):
    wrong = console.post("/console/api/sign-in", json={"AccessKeyId": control_plane["key"],
                                                       "SecretAccessKey": "x" * 40}, headers=ORIGIN)
    assert wrong.status_code == 401 and "wrong" in wrong.json()["message"]
    assert console.get("/console/api/session").status_code == 401
    reply = console.post("/console/api/sign-in", json={"AccessKeyId": control_plane["key"],
                                                       "SecretAccessKey": control_plane["secret"]}, headers=ORIGIN)
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert control_plane["secret"] not in cookie and control_plane["key"] not in cookie
    session = console.get("/console/api/session").json()
    assert session["principal"] == "admin" and len(session["csrf"]) > 20
    assert "Secret" not in json.dumps(session) and control_plane["secret"] not in json.dumps(session)


def test_a_sign_in_from_another_origin_is_refused(control_plane, console):
    reply = console.post("/console/api/sign-in", json={"AccessKeyId": control_plane["key"],
                                                       "SecretAccessKey": control_plane["secret"]},
                         headers={"Origin": "https://evil.example"})
    assert reply.status_code == 403 and "set-cookie" not in reply.headers


def test_posts_without_the_csrf_token_or_from_another_origin_change_nothing(control_plane, console, mwaa):
    csrf = signed_in(console, control_plane["key"], control_plane["secret"])
    for headers in ({}, ORIGIN, {CSRF_HEADER: "forged", **ORIGIN}, {CSRF_HEADER: csrf},
                    {CSRF_HEADER: csrf, "Origin": "https://evil.example"}):
        reply = call(console, csrf, "CreateEnvironment", minimal(Name="csrf"), headers=headers)
        assert reply.status_code == 403, (headers, reply.text)
    assert mwaa.list_environments()["Environments"] == []
    assert call(console, csrf, "CreateEnvironment", minimal(Name="csrf")).status_code == 200
    assert mwaa.list_environments()["Environments"] == ["csrf"]


def test_a_forged_or_ended_session_cookie_is_refused(control_plane, console, mwaa):
    csrf = signed_in(console, control_plane["key"], control_plane["secret"])
    real = console.cookies.get(COOKIE)
    console.cookies.set(COOKIE, "forged-" + real[7:], path="/console")
    assert console.get("/console/api/session").status_code == 401
    assert call(console, csrf, "CreateEnvironment", minimal(Name="forged")).status_code == 401
    console.cookies.set(COOKIE, real, path="/console")
    assert console.post("/console/api/sign-out", headers={CSRF_HEADER: csrf, **ORIGIN}).status_code == 200
    console.cookies.set(COOKIE, real, path="/console")  # replaying the cookie after sign-out
    assert call(console, csrf, "CreateEnvironment", minimal(Name="forged")).status_code == 401
    assert mwaa.list_environments()["Environments"] == []


def test_actions_go_through_the_api_as_the_principal_and_policies_decide(control_plane, console, mwaa):
    mwaa.create_environment(**minimal(Name="theirs"))
    principals = control_plane["principals"]
    key, secret = principals.create("operator")
    principals.attach("operator", "mine", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["airflow:ListEnvironments", "airflow:GetEnvironment", "iam:PassRole"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "airflow:*",
         "Resource": "arn:aws:airflow:us-east-1:000000000000:environment/mine*"},
        {"Effect": "Deny", "Action": "airflow:DeleteEnvironment", "Resource": "*"}]}))
    csrf = signed_in(console, key, secret)
    created = call(console, csrf, "CreateEnvironment", minimal(Name="mine"))
    assert created.status_code == 200, created.text
    refused = call(console, csrf, "UpdateEnvironment", {"Name": "theirs", "MaxWorkers": 7})
    assert refused.status_code == 403 and refused.json()["code"] == "AccessDeniedException", refused.text
    assert "operator" in refused.json()["message"]
    denied = call(console, csrf, "DeleteEnvironment", {"Name": "mine"})
    assert denied.status_code == 403 and "explicit deny" in denied.json()["message"]
    assert mwaa.get_environment(Name="theirs")["Environment"]["MaxWorkers"] != 7
    assert sorted(mwaa.list_environments()["Environments"]) == ["mine", "theirs"]
    listed = call(console, csrf, "ListEnvironments", {}).json()
    assert sorted(listed["Environments"]) == ["mine", "theirs"]
    audit = [(e["principal"], e["action"], e["outcome"]) for e in principals.audit(limit=50)]
    assert ("operator", "aerodrome:ConsoleSignIn", "allowed") in audit
    assert ("operator", "airflow:CreateEnvironment", "allowed") in audit
    assert ("operator", "airflow:UpdateEnvironment", "denied") in audit
    assert ("operator", "airflow:DeleteEnvironment", "denied") in audit


def test_only_the_console_s_operations_are_called(control_plane, console):
    csrf = signed_in(console, control_plane["key"], control_plane["secret"])
    reply = call(console, csrf, "PutMetricAlarm", {}, service="cloudwatch")
    assert reply.status_code == 400 and "does not call" in reply.json()["message"]
    metric = {"Namespace": "AWS/MWAA", "MetricName": "NumWorkers",
              "Dimensions": [{"Name": "Environment", "Value": "x"}]}
    got = call(console, csrf, "GetMetricData", {
        "StartTime": "2026-01-01T00:00:00Z", "EndTime": "2026-01-01T01:00:00Z", "ScanBy": "TimestampAscending",
        "MetricDataQueries": [{"Id": "m0", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Maximum"}}]},
        service="cloudwatch")
    assert got.status_code == 200 and got.json()["MetricDataResults"][0]["Values"] == [], got.text
    missing = call(console, csrf, "FilterLogEvents", {"logGroupName": "airflow-none-Task"}, service="logs")
    assert missing.status_code == 400 and missing.json()["code"] == "ResourceNotFoundException", missing.text


def test_a_single_sign_on_session_becomes_a_console_session_and_ends_with_it(control_plane, sso_console):
    console = sso_console
    assert console.get("/console/api/session").json() == {"signedIn": False, "sso": True}
    console.cookies.set("aerodrome_sso", "alice-session", domain="127.0.0.1", path="/")
    session = console.get("/console/api/session").json()
    assert session["principal"] == "admin" and session["person"] == "alice"
    listed = call(console, session["csrf"], "ListEnvironments", {})
    assert listed.status_code == 200, listed.text
    audit = [(e["principal"], e["action"], e["resource"]) for e in control_plane["principals"].audit(limit=20)]
    assert ("admin", "aerodrome:ConsoleSignIn", "arn:aws:sts::000000000000:assumed-role/admin/alice") in audit
    console.cookies.set("aerodrome_sso", "ursula-session", domain="127.0.0.1", path="/")  # someone else now
    assert call(console, session["csrf"], "ListEnvironments", {}).status_code == 401
    refused = console.get("/console/api/session")
    assert refused.status_code == 403 and "none of your groups (marketing)" in refused.json()["message"]
