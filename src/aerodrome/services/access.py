"""Access to a running environment: CLI and web login tokens, the CLI bridge, InvokeRestApi,
PublishMetrics. The gateway and the MWAA operations call this; Airflow checks its own permissions."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

import httpx

from aerodrome import errors
from aerodrome.domain import cli_commands
from aerodrome.runtimes.base import Placement
from aerodrome.runtimes.local import web_auth
from aerodrome.services.principals import PrincipalService
from aerodrome.services.tokens import Tokens

REST_TIMEOUT = 10.0
REST_MAX_BYTES = 6 * 1024 * 1024
SESSION_TTL = 12 * 3600  # a web login lasts 12 h, as on MWAA
CLI_TIMEOUT = 120.0


@dataclass(frozen=True)
class Target:
    """What the web endpoint needs to know of one environment."""

    name: str
    airflow_version: str
    placement: Placement
    hostname: str

    @property
    def major(self) -> int:
        return int(self.airflow_version.split(".")[0])

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.placement.web_port}"


@dataclass(frozen=True)
class WebSession:
    role: str
    principal: str
    cookie_name: str  # Airflow 3: `_token` (a JWT); Airflow 2: FAB's `session`
    cookie: str
    max_age: int


class AccessService:
    def __init__(self, *, environments, driver, principals: PrincipalService, tokens: Tokens):
        self._environments = environments
        self._driver = driver
        self._principals = principals
        self._tokens = tokens

    def target(self, name: str) -> Target:
        view = self._environments.get(name)
        placement = Placement.from_json(self._environments.placement(name))
        return Target(name, view.spec.airflow_version, placement, view.webserver_url or "")

    # --- tokens ---------------------------------------------------------------------------------
    def create_cli_token(self, principal: str, name: str) -> dict:
        target = self.target(name)
        token = self._tokens.issue("cli", environment=name, principal=principal, role="Admin")
        return {"CliToken": token, "WebServerHostname": target.hostname}

    def create_web_login_token(self, access_key_id: str, name: str) -> dict:
        target = self.target(name)
        principal, role = self._principals.granted_role(access_key_id, "airflow:CreateWebLoginToken", name)
        token = self._tokens.issue("web", environment=name, principal=principal, role=role)
        identity = _airflow_user(principal) if target.major >= 3 else web_auth.fab_user(role)
        return {"WebToken": token, "WebServerHostname": target.hostname,
                "IamIdentity": f"user/{principal}", "AirflowIdentity": identity}

    # --- the web endpoint -------------------------------------------------------------------------
    def run_cli(self, name: str, token: str, command_line: str) -> dict:
        """MWAA's CLI bridge answer (base64 stdout/stderr) plus the command's exit code."""
        grant = self._tokens.redeem(token, "cli", environment=name)
        target = self.target(name)
        args = cli_commands.parse(command_line, major=target.major)
        spec = self._environments.get(name).spec
        self._principals.record(grant.principal, "cli", f"{name}: {' '.join(args[:2])}", "run")
        result = self._driver.airflow_cli(spec, target.placement, *args, timeout=CLI_TIMEOUT)
        return {"stdout": _b64(result.stdout), "stderr": _b64(result.stderr), "exit_code": result.returncode}

    def web_login(self, name: str, token: str) -> WebSession:
        grant = self._tokens.redeem(token, "web", environment=name)
        target = self.target(name)
        self._principals.record(grant.principal, "web-login", name, grant.role)
        if target.major < 3:
            user, password = self._fab_user(target, grant.role)
            try:
                cookie = web_auth.fab_session(target.api_base, username=user, password=password)
            except (httpx.HTTPError, RuntimeError) as exc:
                raise errors.Temporary(f"Signing in to the Airflow webserver of {name} failed: {exc}") from None
            return WebSession(grant.role, grant.principal, "session", cookie, SESSION_TTL)
        return WebSession(grant.role, grant.principal, "_token",
                          self._api_token(target, grant.principal, grant.role, SESSION_TTL), SESSION_TTL)

    # --- InvokeRestApi / PublishMetrics ---------------------------------------------------------
    def invoke_rest_api(self, access_key_id: str, request: dict) -> dict:
        name = request["Name"]
        target = self.target(name)
        principal, role = self._principals.granted_role(access_key_id, "airflow:InvokeRestApi", name)
        version = "v2" if target.major >= 3 else "v1"
        url = f"{target.api_base}/api/{version}{request['Path']}"
        if target.major >= 3:
            headers = {"Authorization": f"Bearer {self._api_token(target, principal, role, 60)}"}
        else:  # Airflow 2's REST API takes basic auth (see airflow_env DEFAULTS) as the role's FAB user
            user, password = self._fab_user(target, role)
            headers = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        body = request.get("Body")
        if not body and request["Method"] not in ("POST", "PUT", "PATCH"):
            body = None  # MwaaHook sends {} with every GET; Airflow expects no body there
        try:
            with httpx.Client(timeout=REST_TIMEOUT) as client, client.stream(
                    request["Method"], url, params=request.get("QueryParameters") or None,
                    json=body if body is not None else None, headers=headers) as reply:
                content = _read_capped(reply)
        except httpx.TimeoutException:
            raise errors.Temporary(f"The Airflow REST API of {name} did not answer within "
                                   f"{REST_TIMEOUT:.0f} s.") from None
        except httpx.TransportError:
            raise errors.Temporary(f"The Airflow REST API of {name} is not reachable; is the environment "
                                   "AVAILABLE?") from None
        document = _document(content)
        if reply.status_code >= 400:
            raise errors.RestApiFailure(f"Airflow answered {reply.status_code}.", status=reply.status_code,
                                        response=document)
        return {"RestApiStatusCode": reply.status_code, "RestApiResponse": document}

    def publish_metrics(self, name: str, metric_data: list) -> None:
        """Kept as JSON lines in the environment's `metrics/published.jsonl` for the metrics feature."""
        target = self.target(name)
        folder = target.placement.root / "metrics"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "published.jsonl", "a") as handle:
            handle.write(json.dumps({"received_at": time.time(), "MetricData": metric_data}, default=str) + "\n")

    def _fab_user(self, target: Target, role: str) -> tuple[str, str]:
        """Airflow 2: the FAB user of `role`, created with a generated password on first use."""
        user, password = web_auth.fab_user(role), web_auth.fab_password(target.placement, role)
        marker = web_auth.fab_user_marker(target.placement, role)
        if not marker.exists():
            spec = self._environments.get(target.name).spec
            result = self._driver.airflow_cli(
                spec, target.placement, "users", "create", "--role", role, "--username", user,
                f"--password={password}", "--firstname", "MWAA", "--lastname", role, "--email", f"{user}@localhost")
            if result.returncode != 0 and "already exist" not in result.stdout + result.stderr:
                raise errors.Temporary(f"Creating the Airflow {role} user of {target.name} failed; "
                                       "see the environment's logs.")
            marker.write_text("ok")
        return user, password

    def _api_token(self, target: Target, principal: str, role: str, ttl: float) -> str:
        if role not in web_auth.SIMPLE_ROLES:
            raise errors.AccessDenied(f"The Airflow role {role} cannot sign in to Airflow 3; grant Viewer or above.")
        return web_auth.airflow_token(target.placement, username=_airflow_user(principal), role=role, ttl=ttl)


def _airflow_user(principal: str) -> str:
    return f"assumed-role/{principal}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _read_capped(reply: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in reply.iter_bytes():
        size += len(chunk)
        if size > REST_MAX_BYTES:
            raise errors.Invalid("The Airflow REST API response is larger than 6 MB; ask for less "
                                 "(e.g. with limit and offset query parameters).")
        chunks.append(chunk)
    return b"".join(chunks)


def _document(content: bytes) -> object:
    if not content:
        return {}
    try:
        return json.loads(content)
    except ValueError:
        return {"text": content.decode(errors="replace")[:2000]}
