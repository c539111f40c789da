"""Each Airflow version's venv and migrated template database, made once per control plane."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from aerodrome import errors
from aerodrome.runtimes.base import Progress
from aerodrome.runtimes.local import processes, venvs
from aerodrome.runtimes.local.databases import Databases
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.runtimes.local.redis import Brokers
from aerodrome.runtimes.local.wiring import base_env


class ReadyVersions:
    def __init__(self, *, venvs_dir: Path, postgres: Postgres, databases: Databases, brokers: Brokers):
        self._venvs_dir = venvs_dir
        self._postgres = postgres
        self._databases = databases
        self._brokers = brokers
        self._ready: dict[str, tuple[Path, str]] = {}  # version -> (venv, template database)
        self._lock = threading.Lock()

    def get(self, version: str, progress: Progress | None = None) -> tuple[Path, str]:
        """(venv, template database) of `version`, made first if need be (slow the first time)."""
        with self._lock:
            if version in self._ready:
                return self._ready[version]
            venv = venvs.ensure_venv(self._venvs_dir, version, progress=progress)
            self._postgres.ensure_running()
            self._brokers.ping_external()
            if progress:
                progress(f"preparing the Airflow {version} template database")
            template = self._databases.ensure_template(version, migrate=lambda url: _migrate(venv, url))
            self._ready[version] = (venv, template)
            return venv, template


def _migrate(venv: Path, url: str) -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**base_env(venv), "AIRFLOW_HOME": home, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        result = subprocess.run([str(venv / "bin" / "airflow"), "db", "migrate"], env=env,
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise errors.Permanent(f"`airflow db migrate` failed: {result.stderr.strip()[-processes.LOG_TAIL:]}")
