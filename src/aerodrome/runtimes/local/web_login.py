"""Web login material of an environment: the admin login, and Airflow 3 API tokens (HS512 JWTs signed
with the environment's JWT secret, carrying what SimpleAuthManager reads: `sub`, `role`, `teams`), so Airflow
itself checks every permission."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

from aerodrome import errors
from aerodrome.domain.airflow_roles import SIMPLE_ROLES
from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local import files

AUDIENCE = "apache-airflow"  # Airflow's default [api_auth] jwt_audience


def admin_login(placement: Placement) -> tuple[str, str]:
    """(user, password) of the environment's admin (made when the environment was wired)."""
    passwords = json.loads((placement.root / "secrets" / "passwords.json").read_text())
    return "admin", passwords["admin"]


def airflow_token(placement: Placement, *, username: str, role: str, ttl: float,
                  teams: list[str] | None = None) -> str:
    if role not in SIMPLE_ROLES:
        raise errors.AccessDenied(f"The Airflow role {role} cannot sign in to Airflow 3; grant Viewer or above.")
    secret = files.secret(placement.root / "secrets" / "jwt.secret")
    now = int(time.time())
    # `teams`: SimpleAuthManager (3.2+) refuses a non-Admin every DAG, connection, variable and pool
    # owned by a team not listed; None (outside multi-team mode) is no team
    claims = {"sub": username, "role": SIMPLE_ROLES[role], "teams": list(teams) if teams is not None else None,
              "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + int(ttl), "jti": uuid.uuid4().hex}
    header = {"alg": "HS512", "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
