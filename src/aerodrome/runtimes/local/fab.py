"""Airflow 2 signs users in through Flask-AppBuilder: the admin user, one user per MWAA role (created
through the CLI on first use, password in `secrets/`), and a form login that yields FAB's `session`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx

from aerodrome import errors
from aerodrome.domain.airflow_roles import fab_user
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import airflow_env, files, processes
from aerodrome.runtimes.local.cli_bridge import CliBridge
from aerodrome.runtimes.local.supervisor import as_user
from aerodrome.runtimes.local.web_login import admin_login
from aerodrome.runtimes.local.wiring import base_env

LOGIN_TIMEOUT = 10


class FabUsers:
    def __init__(self, cli: CliBridge):
        self._cli = cli

    def ensure_admin(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring,
                     venv: Path) -> None:
        """Create the admin user once (before the webserver starts)."""
        marker = placement.root / "secrets" / "fab-admin.done"
        if marker.exists():
            return
        _, password = admin_login(placement)
        env = airflow_env.component_env(spec, placement, wiring, component="scheduler", base=base_env(venv))
        result = subprocess.run([str(venv / "bin" / "airflow"), "users", "create", "--role", "Admin", "--username",
                                 "admin", "--firstname", "Admin", "--lastname", "User", "--email", "admin@localhost"],
                                env=env, capture_output=True, text=True, input=_prompted(password),
                                start_new_session=True, cwd=placement.root, **as_user(wiring.user))
        if result.returncode != 0 and "already exist" not in result.stdout + result.stderr:
            raise errors.Permanent("creating the Airflow admin user failed: "
                                   f"{result.stderr.strip()[-processes.LOG_TAIL:]}")
        marker.write_text("ok")

    def role_login(self, spec: EnvironmentSpec, placement: Placement, role: str) -> tuple[str, str]:
        """(user, password) of `role`'s user, created with a generated password on first use."""
        user = fab_user(role)
        password = files.secret(placement.root / "secrets" / f"fab-role-{role.lower()}.secret")
        marker = placement.root / "secrets" / f"fab-role-{role.lower()}.done"
        if not marker.exists():
            result = self._cli.run(
                spec, placement, "users", "create", "--role", role, "--username", user,
                "--firstname", "MWAA", "--lastname", role, "--email", f"{user}@localhost", stdin=_prompted(password))
            if result.returncode != 0 and "already exist" not in result.stdout + result.stderr:
                raise errors.Temporary(f"Creating the Airflow {role} user of {spec.name} failed; "
                                       "see the environment's logs.")
            marker.write_text("ok")
        return user, password

    def role_session(self, spec: EnvironmentSpec, placement: Placement, role: str) -> str:
        """Sign `role`'s user in on the webserver's login form; the `session` cookie it hands out."""
        username, password = self.role_login(spec, placement, role)
        try:
            return _form_login(f"http://127.0.0.1:{placement.web_port}", username=username, password=password)
        except (httpx.HTTPError, RuntimeError) as exc:
            raise errors.Temporary(f"Signing in to the Airflow webserver of {spec.name} failed: {exc}") from None


def _prompted(password: str) -> str:
    """What `airflow users create` without --password reads when it asks twice for the password: with no
    terminal, its prompt reads stdin, so the password stays off the command line."""
    return f"{password}\n{password}\n"


def _form_login(api_base: str, *, username: str, password: str) -> str:
    with httpx.Client(base_url=api_base, timeout=LOGIN_TIMEOUT, follow_redirects=False) as client:
        page = client.get("/login/")
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        if found is None:
            raise RuntimeError(f"the Airflow 2 login page has no CSRF token (HTTP {page.status_code})")
        reply = client.post("/login/", data={"csrf_token": found.group(1), "username": username,
                                             "password": password})
        session = client.cookies.get("session")
        if reply.status_code != 302 or not session or "/login" in reply.headers.get("location", ""):
            raise RuntimeError(f"the Airflow 2 webserver refused the sign-in of {username}")
        return session
