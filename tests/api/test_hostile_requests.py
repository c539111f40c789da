"""Hostile requests get a clear refusal before anything reads or acts on them: bodies are capped
before authentication on every listener, methods the model lacks get an AWS error, InvokeRestApi's
Path stays inside Airflow's REST API, and the login only redirects to this endpoint's own paths."""

import socket
import threading
from urllib.parse import urlsplit

import botocore.exceptions
import httpx
import pytest
from botocore.parsers import RestJSONParser

from aerodrome.api.ext.app import PREFIX, ExtApi
from aerodrome.gateway.app import build_gateway_app
from aerodrome.services.access import AccessService, WebSession
from aerodrome.services.principals import PrincipalService
from aerodrome.services.tokens import Tokens
from aerodrome.web import limits
from tests.support import minimal, serve_asgi


def aws_error(reply: httpx.Response) -> str:
    """The error code as botocore reads it from a reply of the MWAA API."""
    parsed = RestJSONParser().parse({"status_code": reply.status_code, "headers": dict(reply.headers),
                                     "body": reply.content}, None)
    return parsed["Error"]["Code"]


def raw_request(url: str, head: str) -> str:
    """Send request lines as they are (a Content-Length no client library would send) and read the reply."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode())
        return sock.recv(65536).decode(errors="replace")


def test_mwaa_api_caps_the_body_before_checking_the_signature(control_plane):
    url = control_plane["url"]
    reply = httpx.post(f"{url}/environments/dev", content=b"{" + b" " * limits.MWAA_API_MAX_BYTES + b"}")
    assert reply.status_code == 413 and aws_error(reply) == "ValidationException"
    assert "larger than" in reply.json()["message"]
    answer = raw_request(url, "PUT /environments/dev HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
    assert answer.startswith("HTTP/1.1 413") and "ValidationException" in answer
    unsigned = httpx.post(f"{url}/environments/dev", content=b"{}")
    assert unsigned.status_code == 403  # a small unsigned body gets as far as the signature check


def test_aerodrome_api_caps_the_body_before_checking_the_signature():
    # nothing behind the API is reached: the cap comes first
    api = ExtApi(events=None, lifecycle=None, credentials=None, authorizer=None, region="us-east-1",
                 account="000000000000", closing=threading.Event())
    with serve_asgi(api) as url:
        reply = httpx.post(f"{url}{PREFIX}/principals", content=b"x" * (limits.EXT_API_MAX_BYTES + 1))
        answer = raw_request(url, f"POST {PREFIX}/principals HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 10000000000\r\n\r\n")
    assert reply.status_code == 413 and reply.headers["x-amzn-ErrorType"] == "ValidationException"
    assert answer.startswith("HTTP/1.1 413")


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND"])
def test_methods_the_model_lacks_get_an_aws_error(control_plane, method):
    reply = httpx.request(method, f"{control_plane['url']}/environments")
    assert reply.status_code in (403, 404)
    assert aws_error(reply) in ("MissingAuthenticationTokenException", "UnrecognizedClientException",
                                "UnknownOperationException", "IncompleteSignatureException")


def test_signed_methods_the_model_lacks_are_unknown_operations(mwaa):
    # botocore signs whatever it sends: point one of its requests at OPTIONS
    def to_options(request, **_):
        request.method = "OPTIONS"

    mwaa.meta.events.register_first("before-sign.mwaa.ListEnvironments", to_options)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        mwaa.list_environments()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"


@pytest.mark.parametrize("path", ["/../config", "/dags/%2e%2e/%2e%2e/health", "//evil", "/dags\\..\\x"])
def test_invoke_rest_api_path_cannot_leave_the_rest_api(mwaa, path):
    mwaa.create_environment(**minimal())
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        mwaa.invoke_rest_api(Name="dev", Path=path, Method="GET")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Path must" in caught.value.response["Error"]["Message"]


def test_invoke_rest_api_on_an_environment_not_running_is_refused_not_an_outage(mwaa):
    mwaa.create_environment(**minimal())  # stays CREATING: no reconciler runs here
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        mwaa.invoke_rest_api(Name="dev", Path="/dags", Method="GET")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "is CREATING" in caught.value.response["Error"]["Message"]


def test_invoke_rest_api_takes_a_dag_run_path_longer_than_the_model_says(mwaa):
    """MwaaDagRunSensor polls a DAG run's path (past botocore's 64 characters; MWAA accepts it)."""
    mwaa.create_environment(**minimal())
    sensor_path = "/dags/nightly_warehouse_load/dagRuns/manual__2026-12-01T04:33:58.376187+00:00"
    assert len(sensor_path) > 64
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        mwaa.invoke_rest_api(Name="dev", Path=sensor_path, Method="GET")
    assert "is CREATING" in caught.value.response["Error"]["Message"]  # past validation: only not running
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        mwaa.invoke_rest_api(Name="dev", Path="/dags/" + "x" * 4994, Method="GET")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "length less than or equal to 4096" in caught.value.response["Error"]["Message"]


@pytest.fixture
def gateway(control_plane, store, settings):
    environments = control_plane["environments"]
    from aerodrome.api.aws import convert

    request = minimal()
    environments.create(convert.spec_from_wire("dev", {k: v for k, v in request.items() if k != "Name"}), tags={})
    principals = PrincipalService(store=store, region=settings.region, account=settings.account)
    access = AccessService(environments=environments, runtime=None, principals=principals, tokens=Tokens())
    with serve_asgi(build_gateway_app("dev", access=access, secure=False)) as url:
        yield url


def test_web_endpoint_caps_bodies_before_tokens_are_read(gateway):
    big_command = b"dags list " + b"x" * limits.CLI_MAX_BYTES
    reply = httpx.post(f"{gateway}/aws_mwaa/cli", content=big_command, headers={"Authorization": "Bearer t"})
    assert reply.status_code == 413 and "larger than" in reply.json()["error"]

    def chunks():  # no Content-Length: the cap applies to what streams in
        for _ in range(10):
            yield b"y" * (limits.CLI_MAX_BYTES // 4)

    reply = httpx.post(f"{gateway}/aws_mwaa/cli", content=chunks(), headers={"Authorization": "Bearer t"})
    assert reply.status_code == 413
    reply = httpx.post(f"{gateway}/aws_mwaa/login", content=b"token=" + b"t" * limits.LOGIN_MAX_BYTES)
    assert reply.status_code == 413
    answer = raw_request(gateway, f"POST /api/v2/dags HTTP/1.1\r\nHost: x\r\n"
                                  f"Content-Length: {limits.PROXY_MAX_BYTES + 1}\r\n\r\n")
    assert answer.startswith("HTTP/1.1 413")


class SignsIn:
    """Stands in for the access service at the login: the real sign-in is proved end to end (tests/e2e)."""

    def web_login(self, name, token):
        return WebSession("Admin", "admin", "_token", "cookie", 60)


@pytest.mark.parametrize("target, location", [
    ("/dags/x/grid", "/dags/x/grid"), ("/", "/"), ("//evil.example", None), ("/\\evil.example", None),
    ("https:evil.example", None), ("https://evil.example/", None), ("/%5cevil.example", None),
])
def test_login_redirects_only_to_its_own_paths(target, location):
    with serve_asgi(build_gateway_app("dev", access=SignsIn(), secure=False)) as url:
        reply = httpx.post(f"{url}/aws_mwaa/login", data={"token": "t", "next": target})
    if location is None:
        assert reply.status_code == 200 and reply.json() == {"role": "Admin"}
        assert "location" not in reply.headers
    else:
        assert reply.status_code == 303 and reply.headers["location"] == location
    assert "_token=cookie" in reply.headers["set-cookie"]
