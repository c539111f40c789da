"""The OpenID Connect identity provider single sign-on is tested against (tests/idp: oidc-provider
from npm, run by Node), the people it knows with their groups, and the plane settings that use it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import subprocess
from pathlib import Path

import httpx

from tests.support import wait_for

IDP_DIR = Path(__file__).parent / "idp"
CLIENT_ID = "aerodrome"
CLIENT_SECRET = secrets.token_urlsafe(24)
# Who can sign in (any password): their groups, as the provider's groups claim carries them.
PEOPLE = {
    "alice": ["airflow-admins", "platform-admins"],
    "victor": ["airflow-viewers"],
    "olga": ["airflow-ops"],
    "ursula": ["marketing"],  # in no mapped group
    "nobody": None,  # the provider sends no groups claim for her
    "tina": ["team-a", "airflow-users"],
    "tom": ["team-b", "airflow-users"],
}
PRINCIPALS = {"platform-admins": "admin"}  # who acts as which principal on the control plane
ROLES = {"*": {"airflow-admins": "Admin", "airflow-ops": "Op", "airflow-users": "User",
               "airflow-viewers": "Viewer"}}


def issuer(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def plane_settings(port: int) -> dict:
    """Settings that make a control plane sign people in through the provider on `port`."""
    return {"sso_issuer": issuer(port), "sso_client_id": CLIENT_ID, "sso_client_secret": CLIENT_SECRET,
            "sso_roles": json.dumps(ROLES), "sso_principals": json.dumps(PRINCIPALS)}


@contextlib.contextmanager
def running_provider(port: int, plane_url: str):
    """The provider on `port`, with Aerodrome's control plane at `plane_url` as its one client."""
    config = {
        "port": port, "issuer": issuer(port), "cookieKey": secrets.token_urlsafe(16),
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "redirect_uris": [f"{plane_url}/sso/callback"],
                     "post_logout_redirect_uris": [f"{plane_url}/sso/signed-out"],
                     "grant_types": ["authorization_code"], "response_types": ["code"]}],
        "accounts": {name: ({"groups": groups} if groups is not None else {}) for name, groups in PEOPLE.items()},
    }
    installed()
    env = {"PATH": os.environ["PATH"], "IDP_CONFIG": json.dumps(config), "NODE_ENV": "test"}
    process = subprocess.Popen(["node", "server.mjs"], cwd=IDP_DIR, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(f"{issuer(port)}/.well-known/openid-configuration") or process.poll() is not None,
                 timeout=30, what="the identity provider")
        assert process.poll() is None, "the identity provider exited; run `npm ci` in tests/idp"
        yield issuer(port)
    finally:
        process.terminate()
        process.wait(10)


def installed() -> None:
    """oidc-provider from the npm registry, installed from tests/idp's lock file on first use (once,
    whichever test process gets there first), so `uv run pytest` on a fresh clone needs only Node."""
    with open(IDP_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=IDP_DIR, check=True,
                           timeout=300)


def sign_in(page, person: str) -> None:
    """On the provider's sign-in page: sign in as `person` and agree to share the claims."""
    page.wait_for_selector("input[name=login]", timeout=30000)
    page.fill("input[name=login]", person)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    consent = page.locator("button", has_text="Continue")
    if consent.count():  # asked once per person and client
        consent.click()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
