"""What every process of an environment is wired to: its database, broker namespace and secrets."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from aerodrome.domain.placement import Placement
from aerodrome.runtimes import endpoints
from aerodrome.runtimes.local import airflow_env, files
from aerodrome.runtimes.local.contents import write_atomically
from aerodrome.runtimes.local.databases import Databases
from aerodrome.runtimes.local.os_users import OsUsers
from aerodrome.runtimes.local.redis import Brokers

FOLDERS = ("dags", "plugins", "logs", "airflow_home")


class EnvironmentWiring:
    def __init__(self, *, databases: Databases, brokers: Brokers, users: OsUsers, api_url: str, region: str,
                 ca_bundle: Path | None = None, statsd_port: int = 0):
        self._databases = databases
        self._ca_bundle = ca_bundle
        self._api_url = api_url
        self._region = region
        self._users = users
        self._brokers = brokers
        self._statsd_port = statsd_port

    def wire(self, placement: Placement, template: str) -> airflow_env.Wiring:
        """Create what is missing (folders, database from `template`, secrets, OS user, broker) and say
        where it is."""
        secrets_dir = placement.root / "secrets"
        for folder in FOLDERS:
            (placement.root / folder).mkdir(parents=True, exist_ok=True)
        database_url = self._databases.create(placement.env_id, template, secrets_dir / "db.secret")
        passwords = secrets_dir / "passwords.json"
        files.secret(passwords, make=lambda: json.dumps({"admin": base64.urlsafe_b64encode(os.urandom(12)).decode()}))
        fernet_key = files.secret(secrets_dir / "fernet.secret",
                                  make=lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())
        jwt_secret, web_secret = files.secret(secrets_dir / "jwt.secret"), files.secret(secrets_dir / "web.secret")
        files.secret(role_token_file(placement), make=lambda: f"{placement.env_id}.{secrets.token_urlsafe(32)}")
        statsd_prefix = files.secret(statsd_prefix_file(placement), make=lambda: f"m{secrets.token_hex(16)}")
        user = self._users.ensure(placement)  # after the files above: it takes the whole folder
        ca_bundle = self._copy_ca_bundle(placement)
        broker_url = self._brokers.ensure(placement, user=user)
        endpoints.write(placement.root, broker_url=broker_url, database_url=database_url)
        return airflow_env.Wiring(
            database_url=database_url,
            broker_url=broker_url,
            fernet_key=fernet_key, jwt_secret=jwt_secret, web_secret=web_secret,
            passwords_file=str(passwords), user=user,
            role_token_file=str(role_token_file(placement)), api_url=self._api_url, region=self._region,
            ca_bundle=str(ca_bundle) if ca_bundle else None,
            statsd_port=self._statsd_port, statsd_prefix=statsd_prefix,
        )

    def _copy_ca_bundle(self, placement: Placement) -> Path | None:
        """The public roots and the local CA where the environment's user can read them (the control
        plane's TLS folder is its own), so tasks trust the environments' HTTPS web endpoints."""
        if self._ca_bundle is None or not self._ca_bundle.exists():
            return None
        copy = placement.root / "ca-bundle.pem"
        write_atomically(copy, self._ca_bundle.read_bytes())
        return copy


def statsd_prefix_file(placement: Placement) -> Path:
    """The prefix of the environment's StatsD metrics: a secret, so no other environment can send as it."""
    return placement.root / "secrets" / "statsd.prefix"


def role_token_file(placement: Placement) -> Path:
    """The token the environment's processes show to get their execution role's credentials."""
    return placement.root / "secrets" / "role.token"


def base_env(venv: Path) -> dict[str, str]:
    """The variables every Airflow command starts from: the venv first on PATH, a UTF-8 locale."""
    return {"PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": os.environ.get("HOME", "/"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
