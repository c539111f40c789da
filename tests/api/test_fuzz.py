"""Generated requests against the MWAA API and a web endpoint's MWAA paths: no reply is a 5xx, every
error is an AWS error botocore can parse, and the listener still answers afterwards. CI runs a short
variant; AERODROME_FUZZ_REQUESTS=10000 runs the long one."""

import json
import os

import httpx
import pytest
from botocore.parsers import RestJSONParser

from aerodrome.api.aws.app import build_mwaa_app
from aerodrome.gateway.app import build_gateway_app
from aerodrome.services.access import AccessService
from aerodrome.services.cloudwatch import CloudWatchService
from aerodrome.services.credentials import CredentialService
from aerodrome.services.metrics import MetricsService
from aerodrome.services.principals import PrincipalService
from aerodrome.services.rest_api import RestApiService
from aerodrome.services.tokens import Tokens
from tests.fuzzing import NASTY, Generator
from tests.support import serve_asgi

REQUESTS = int(os.environ.get("AERODROME_FUZZ_REQUESTS", "1500"))
SEED = int(os.environ.get("AERODROME_FUZZ_SEED", "20261201"))


def problem(reply: httpx.Response) -> str:
    """What is wrong with a reply, or '' when it is an answer an AWS client can read."""
    if reply.status_code >= 500:
        return f"HTTP {reply.status_code}"
    if reply.status_code < 300:
        try:
            json.loads(reply.content or b"{}")
        except ValueError:
            return "a success that is not JSON"
        return ""
    parsed = RestJSONParser().parse({"status_code": reply.status_code, "headers": dict(reply.headers),
                                     "body": reply.content}, None)
    code = parsed.get("Error", {}).get("Code", "")
    return "" if code and not code.isdigit() else f"an error botocore cannot name (code {code!r})"


@pytest.fixture
def access(control_plane, store, settings):
    """The access service with no runtime behind it: environments here never run."""
    principals = PrincipalService(store=store, region=settings.region, account=settings.account)
    return AccessService(environments=control_plane["environments"], runtime=None, principals=principals,
                         tokens=Tokens())


@pytest.fixture
def mwaa_url(control_plane, store, settings, access):
    app = build_mwaa_app(environments=control_plane["environments"], credentials=CredentialService(store=store),
                         region=settings.region, account=settings.account,
                         authorizer=PrincipalService(store=store, region=settings.region, account=settings.account),
                         access=access, metrics=MetricsService(environments=control_plane["environments"],
                                                                 cloudwatch=CloudWatchService(control_plane["metric_store"])),
                         rest_api=RestApiService(environments=control_plane["environments"], runtime=None,
                                                 principals=PrincipalService(store=store, region=settings.region,
                                                                             account=settings.account)))
    with serve_asgi(app) as url:
        yield url


def test_generated_mwaa_requests_never_fail_the_server(control_plane, mwaa_url):
    generator = Generator(seed=SEED, key=control_plane["key"], secret=control_plane["secret"])
    failures, counts = [], {}
    with httpx.Client(base_url=mwaa_url, timeout=30) as client:
        for case in generator.cases(REQUESTS):
            reply = client.request(case.method, case.path + (f"?{case.query}" if case.query else ""),
                                   content=case.body, headers=case.headers)
            counts[reply.status_code] = counts.get(reply.status_code, 0) + 1
            if found := problem(reply):
                failures.append(f"case {case.number} ({case.mode} {case.operation}): {found}: {reply.text[:200]}")
        still = client.get("/environments")
    assert not failures, f"{len(failures)} of {REQUESTS}:\n" + "\n".join(failures[:10])
    assert still.status_code == 403 and problem(still) == ""  # unsigned, answered: the server is up
    assert {s for s in counts if s < 300} and {s for s in counts if s >= 400}, counts  # both kinds were reached


def test_generated_requests_to_a_web_endpoint_never_fail_it(access):
    generator = Generator(seed=SEED, key="", secret="")
    paths = [f"{prefix}/{leaf}" for prefix in ("/aws_mwaa", "/pluginsv2/aws_mwaa") for leaf in ("cli", "login")]
    failures = []
    with serve_asgi(build_gateway_app("fz", access=access, secure=False)) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        for number in range(max(REQUESTS // 5, 50)):
            case = next(generator.cases(1))
            nasty = "".join(c for c in NASTY[number % len(NASTY)] if c.isascii() and c.isprintable())[:500]
            schemes = ["", "Bearer", f"Bearer {nasty}".strip(), "Basic x", "Bearer abc.def"]
            headers = {"Authorization": schemes[number % len(schemes)]}
            reply = client.request("POST", paths[number % len(paths)], content=case.body[:200_000],
                                   headers=headers)
            if reply.status_code >= 500 or not reply.content:
                failures.append(f"request {number}: HTTP {reply.status_code}: {reply.text[:200]}")
    assert not failures, "\n".join(failures[:10])
