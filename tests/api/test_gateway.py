"""The web endpoint without Airflow behind it: token checks at the MWAA paths happen before any
command runs, endpoints follow the environments (HTTPS with the local CA, bound per access mode)."""

import ssl

import httpx
import psutil
import pytest

from aerodrome.gateway.app import build_gateway_app
from aerodrome.gateway.server import Gateways
from aerodrome.runtimes.local import web_login
from aerodrome.runtimes.local.placement import HostPlacements
from aerodrome.services.access import AccessService
from aerodrome.services.credentials import CredentialService
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.principals import PrincipalService
from aerodrome.services.tokens import Tokens
from tests.support import minimal, serve_asgi, wait_for


class TokenRuntime:
    """The local runtime's Airflow 3 token signing, without processes."""

    def api_token(self, placement, **claims):
        return web_login.airflow_token(placement, **claims)


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def setup(settings, store):
    (settings.buckets_dir / "my-bucket").mkdir(parents=True)
    environments = EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings),
                                      wake=lambda name: None)
    from aerodrome.api.aws import convert

    for name, mode in (("dev", "PRIVATE_ONLY"), ("prod", "PUBLIC_ONLY")):
        request = minimal(Name=name, WebserverAccessMode=mode)
        environments.create(convert.spec_from_wire(name, {k: v for k, v in request.items() if k != "Name"}), tags={})
    principals = PrincipalService(store=store, region=settings.region, account=settings.account)
    principals.ensure_admin()
    clock = Clock()
    access = AccessService(environments=environments, runtime=TokenRuntime(), principals=principals,
                           tokens=Tokens(clock=clock))
    return {"environments": environments, "access": access, "clock": clock, "settings": settings}


def test_cli_tokens_are_checked_before_anything_runs(setup):
    access = setup["access"]
    token = access.create_cli_token("admin", "dev")["CliToken"]
    with serve_asgi(build_gateway_app("dev", access=access, secure=False)) as dev, \
            serve_asgi(build_gateway_app("prod", access=access, secure=False)) as prod:
        def cli(base, command, auth=f"Bearer {token}"):
            return httpx.post(f"{base}/aws_mwaa/cli", content=command, headers={"Authorization": auth})

        assert cli(dev, "dags list", auth="").status_code == 401
        reply = cli(prod, "dags list")
        assert reply.status_code == 403 and "another environment" in reply.text
        reply = cli(dev, "dags list", auth="Bearer " + token[::-1])
        assert reply.status_code == 403 and "not valid" in reply.text
        reply = cli(dev, "db reset -y")
        assert reply.status_code == 400 and "not supported: db reset" in reply.text
        setup["clock"].now += 61
        reply = cli(dev, "dags list")
        assert reply.status_code == 403 and "expired" in reply.text
        assert token not in reply.text
        down = httpx.get(f"{dev}/api/v2/dags")
        assert down.status_code == 502 and "does not answer" in down.text


def test_web_tokens_work_once_and_only_for_their_environment(setup, store):
    access = setup["access"]
    admin_key = CredentialService(store=store).admin()[0]
    with serve_asgi(build_gateway_app("dev", access=access, secure=False)) as dev:
        page = httpx.get(f"{dev}/aws_mwaa/aws-console-sso?login=true")
        assert page.status_code == 200 and "location.hash" in page.text
        assert page.headers["cache-control"] == "no-store"
        foreign = access.create_web_login_token(admin_key, "prod")["WebToken"]
        reply = httpx.post(f"{dev}/aws_mwaa/login", data={"token": foreign})
        assert reply.status_code == 403 and "_token" not in reply.cookies
        token = access.create_web_login_token(admin_key, "dev")["WebToken"]
        first = httpx.post(f"{dev}/pluginsv2/aws_mwaa/login", data={"token": token, "next": "/home"})
        assert first.status_code == 303 and first.headers["location"] == "/home" and first.cookies["_token"]
        second = httpx.post(f"{dev}/aws_mwaa/login", data={"token": token})
        assert second.status_code == 403 and "already used" in second.text
        offsite = access.create_web_login_token(admin_key, "dev")["WebToken"]
        reply = httpx.post(f"{dev}/aws_mwaa/login", data={"token": offsite, "next": "//evil.example/"})
        assert reply.status_code == 200 and reply.json() == {"role": "Admin"}


def test_endpoints_serve_https_and_bind_per_access_mode(setup):
    settings = setup["settings"].replace(web_public_host="0.0.0.0")
    gateways = Gateways(settings, environments=setup["environments"], access=setup["access"], interval=0.2)
    gateways.start()
    try:
        ports = {n: setup["environments"].placement(n).gateway_port for n in ("dev", "prod")}
        context = ssl.create_default_context(cafile=str(gateways.tls.bundle))

        def answers(port):
            try:
                return httpx.get(f"https://localhost:{port}/aws_mwaa/aws-console-sso", verify=context).status_code
            except httpx.HTTPError:
                return None

        assert wait_for(lambda: answers(ports["dev"]), timeout=10, what="the dev endpoint") == 200
        assert wait_for(lambda: answers(ports["prod"]), timeout=10, what="the prod endpoint") == 200
        listening = {c.laddr.port: c.laddr.ip for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port in ports.values()}
        assert listening == {ports["dev"]: "127.0.0.1", ports["prod"]: "0.0.0.0"}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://localhost:{ports['dev']}/", verify=ssl.create_default_context())
    finally:
        gateways.close()
