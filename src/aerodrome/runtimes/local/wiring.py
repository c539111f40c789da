"""What every process of an environment is wired to: its database, broker namespace and secrets."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from aerodrome.domain.placement import Placement
from aerodrome.runtimes import endpoints
from aerodrome.runtimes.local import airflow_env, files
from aerodrome.runtimes.local.databases import Databases
from aerodrome.runtimes.local.redis import Redis

FOLDERS = ("dags", "plugins", "logs", "airflow_home")


class EnvironmentWiring:
    def __init__(self, *, databases: Databases, redis: Redis):
        self._databases = databases
        self._redis = redis

    def wire(self, placement: Placement, template: str) -> airflow_env.Wiring:
        """Create what is missing (folders, database from `template`, secrets) and say where it is."""
        secrets_dir = placement.root / "secrets"
        for folder in FOLDERS:
            (placement.root / folder).mkdir(parents=True, exist_ok=True)
        database_url = self._databases.create(placement.env_id, template, secrets_dir / "db.secret")
        passwords = secrets_dir / "passwords.json"
        files.secret(passwords, make=lambda: json.dumps({"admin": base64.urlsafe_b64encode(os.urandom(12)).decode()}))
        broker_url = self._redis.url(placement.broker_db)
        endpoints.write(placement.root, broker_url=broker_url, database_url=database_url)
        return airflow_env.Wiring(
            database_url=database_url,
            broker_url=broker_url,
            fernet_key=files.secret(secrets_dir / "fernet.secret",
                                    make=lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()),
            jwt_secret=files.secret(secrets_dir / "jwt.secret"),
            web_secret=files.secret(secrets_dir / "web.secret"),
            passwords_file=str(passwords),
        )


def base_env(venv: Path) -> dict[str, str]:
    """The variables every Airflow command starts from: the venv first on PATH, a UTF-8 locale."""
    return {"PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": os.environ.get("HOME", "/"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
