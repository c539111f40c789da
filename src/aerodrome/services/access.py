"""CLI and web login tokens, and what the web endpoint redeems them for: a CLI bridge command, a web
session. Airflow checks its own permissions; the runtime holds the login material."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from aerodrome.domain import cli_commands
from aerodrome.domain.airflow_roles import airflow_user, fab_user
from aerodrome.runtimes.base import RuntimeDriver
from aerodrome.services import targets
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.principals import PrincipalService
from aerodrome.services.targets import Target
from aerodrome.services.tokens import Tokens

SESSION_TTL = 12 * 3600  # a web login lasts 12 h, as on MWAA
CLI_TIMEOUT = 120.0

Awake = Callable[[str, str], None]  # (environment, what needs it): wakes it from idle sleep, waits


def _always_awake(name: str, cause: str) -> None:
    return None


@dataclass(frozen=True)
class WebSession:
    role: str
    principal: str
    cookie_name: str  # Airflow 3: `_token` (a JWT); Airflow 2: FAB's `session`
    cookie: str
    max_age: int


class AccessService:
    def __init__(self, *, environments: EnvironmentService, runtime: RuntimeDriver, principals: PrincipalService,
                 tokens: Tokens, awake: Awake = _always_awake):
        self._environments = environments
        self._runtime = runtime
        self._principals = principals
        self._tokens = tokens
        self._awake = awake

    def target(self, name: str) -> Target:
        return targets.find(self._environments, name)

    def awake_target(self, name: str, cause: str) -> Target:
        """The environment's target once it is awake: a request that needs its processes (blocks while
        it wakes from idle sleep)."""
        self._awake(name, cause)
        return self.target(name)

    # --- tokens ---------------------------------------------------------------------------------
    def create_cli_token(self, principal: str, name: str) -> dict:
        target = self.target(name)
        token = self._tokens.issue("cli", environment=name, principal=principal, role="Admin")
        return {"CliToken": token, "WebServerHostname": target.hostname}

    def create_web_login_token(self, access_key_id: str, name: str) -> dict:
        target = self.target(name)
        principal, role = self._principals.granted_role(access_key_id, "airflow:CreateWebLoginToken", name)
        token = self._tokens.issue("web", environment=name, principal=principal, role=role)
        identity = airflow_user(principal) if target.major >= 3 else fab_user(role)
        return {"WebToken": token, "WebServerHostname": target.hostname,
                "IamIdentity": f"user/{principal}", "AirflowIdentity": identity}

    def sign_in_token(self, name: str, *, person: str, role: str, teams: tuple[str, ...] | None) -> str:
        """A one-time web login token for a person single sign-on vouched for, in `role`."""
        self.target(name)
        return self._tokens.issue("web", environment=name, principal=f"sso/{person}", role=role,
                                  username=person, teams=teams)

    # --- the web endpoint -------------------------------------------------------------------------
    def run_cli(self, name: str, token: str, command_line: str) -> dict:
        """MWAA's CLI bridge answer (base64 stdout/stderr) plus the command's exit code."""
        grant = self._tokens.redeem(token, "cli", environment=name)
        target = self.awake_target(name, "CLI request")
        args = cli_commands.parse(command_line, major=target.major)
        self._principals.record(grant.principal, "cli", f"{name}: {' '.join(args[:2])}", "run")
        result = self._runtime.airflow_cli(target.spec, target.placement, *args, timeout=CLI_TIMEOUT)
        return {"stdout": _b64(result.stdout), "stderr": _b64(result.stderr), "exit_code": result.returncode}

    def web_login(self, name: str, token: str) -> WebSession:
        grant = self._tokens.redeem(token, "web", environment=name)
        target = self.awake_target(name, "web login")
        self._principals.record(grant.principal, "web-login", name, grant.role)
        if target.major < 3:
            cookie = self._runtime.role_session(target.spec, target.placement, grant.role)
            return WebSession(grant.role, grant.principal, "session", cookie, SESSION_TTL)
        username = grant.username or airflow_user(grant.principal)
        teams = list(grant.teams) if grant.teams is not None else None
        cookie = self._runtime.api_token(target.placement, username=username, role=grant.role, ttl=SESSION_TTL,
                                         teams=teams)
        return WebSession(grant.role, grant.principal, "_token", cookie, SESSION_TTL)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
