"""Airflow 3 API tokens for an environment: HS512 JWTs signed with the environment's JWT secret,
carrying what SimpleAuthManager reads (`sub`, `role`), so Airflow itself checks every permission."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

from aerodrome.runtimes.base import Placement
from aerodrome.runtimes.local import files

AUDIENCE = "apache-airflow"  # Airflow's default [api_auth] jwt_audience
# MWAA roles -> SimpleAuthManager roles (MWAA's Public role has no Airflow 3 counterpart)
SIMPLE_ROLES = {"Admin": "ADMIN", "Op": "OP", "User": "USER", "Viewer": "VIEWER"}


def airflow_token(placement: Placement, *, username: str, role: str, ttl: float) -> str:
    secret = files.secret(placement.root / "secrets" / "jwt.secret")
    now = int(time.time())
    claims = {"sub": username, "role": SIMPLE_ROLES[role], "teams": None, "aud": AUDIENCE,
              "iat": now, "nbf": now, "exp": now + int(ttl), "jti": uuid.uuid4().hex}
    header = {"alg": "HS512", "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- Airflow 2: the webserver signs users in through Flask-AppBuilder ---------------------------
FAB_ROLES = ("Admin", "Op", "User", "Viewer", "Public")


def fab_user(role: str) -> str:
    """One FAB user per MWAA role (`mwaa-viewer`, ...), created on first use."""
    return f"mwaa-{role.lower()}"


def fab_password(placement: Placement, role: str) -> str:
    return files.secret(placement.root / "secrets" / f"fab-role-{role.lower()}.secret")


def fab_user_marker(placement: Placement, role: str):
    return placement.root / "secrets" / f"fab-role-{role.lower()}.done"


def fab_session(api_base: str, *, username: str, password: str) -> str:
    """Sign in on the webserver's login form; returns the `session` cookie it hands out."""
    import re

    import httpx

    with httpx.Client(base_url=api_base, timeout=10, follow_redirects=False) as client:
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
