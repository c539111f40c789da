"""One PostgreSQL server per host (embedded binaries or an external URL), one database per environment.

Every Airflow version gets one migrated template database; an environment's database is a copy of
it (`CREATE DATABASE … TEMPLATE`), owned by the environment's own role.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from aerodrome import errors
from aerodrome.runtimes.local import binaries, files
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor, as_user
from aerodrome.settings import Settings

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
TEMPLATE_OWNER = "airflow_template"


class Postgres:
    def __init__(self, settings: Settings, supervisor: Supervisor):
        self._settings = settings
        self._supervisor = supervisor
        self._dir = settings.services_dir / "postgres"
        self._lock = threading.Lock()
        self._template_lock = threading.Lock()
        self._host, self._port, self._user, self._password = "127.0.0.1", 0, "postgres", ""
        if settings.postgres_url:
            url = urlsplit(settings.postgres_url)
            self._host, self._port = url.hostname or "127.0.0.1", url.port or 5432
            self._user, self._password = url.username or "postgres", url.password or ""

    @property
    def embedded(self) -> bool:
        return not self._settings.postgres_url

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    # --- server ------------------------------------------------------------------------------
    def ensure_running(self) -> None:
        if not self.embedded:
            return
        with self._lock:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._password = files.secret(self._dir / "superuser.secret")
            self._port = files.persisted_port(self._dir / "port", self._settings)
            data = self._dir / "data"
            user = SYSTEM_USER if os.geteuid() == 0 else None
            if user is not None:
                _traversable(binaries.postgres_bin("postgres").parent.parent)
            if not (data / "PG_VERSION").exists():
                self._initdb(data, user)
            sockets = self._dir / "run"
            sockets.mkdir(exist_ok=True)
            _hand_to(user, sockets)
            self._supervisor.ensure(ProcessSpec(
                name="host/postgres",
                argv=[str(binaries.postgres_bin("postgres")), "-D", str(data), "-p", str(self._port),
                      "-h", "127.0.0.1", "-k", str(sockets), "-c", "max_connections=500"],
                env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},
                log_file=self._settings.logs_dir / "postgres.log", pid_file=self._dir / "supervised.pid",
                user=user, fingerprint=str(self._port), stop_signal=signal.SIGINT))
        self._wait_ready()

    def _initdb(self, data: Path, user: str | None) -> None:
        pwfile = self._dir / "initdb.pw"
        pwfile.write_text(self._password)
        data.mkdir(exist_ok=True)
        _hand_to(user, data, pwfile)
        data.chmod(0o700)
        try:
            subprocess.run([str(binaries.postgres_bin("initdb")), "-D", str(data), "-U", "postgres",
                            "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions"],
                           check=True, capture_output=True, text=True, **as_user(user),
                           env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"})
        except subprocess.CalledProcessError as exc:
            raise errors.Permanent(f"initdb failed: {exc.stderr.strip()[-800:]}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            result = subprocess.run([str(binaries.postgres_bin("pg_isready")), "-h", self._host, "-p",
                                     str(self._port)], capture_output=True)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise errors.Permanent(f"PostgreSQL did not start on {self.address} "
                                       f"(log: {self._settings.logs_dir / 'postgres.log'}).")
            time.sleep(0.2)

    # --- SQL ---------------------------------------------------------------------------------
    def sql(self, statement: str, *, database: str = "postgres") -> str:
        result = subprocess.run(
            [str(binaries.postgres_bin("psql")), "-h", self._host, "-p", str(self._port), "-U", self._user,
             "-d", database, "-v", "ON_ERROR_STOP=1", "-tA", "-c", statement],
            capture_output=True, text=True, env={**os.environ, "PGPASSWORD": self._password})
        if result.returncode != 0:
            raise errors.Permanent(f"PostgreSQL: {result.stderr.strip()[-500:]}")
        return result.stdout.strip()

    def url(self, database: str, *, user: str, password: str) -> str:
        return f"postgresql+psycopg2://{quote(user)}:{quote(password, safe='')}@{self.address}/{database}"

    def database_exists(self, name: str) -> bool:
        return self.sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"

    # --- templates and environment databases ---------------------------------------------------
    def ensure_template(self, version: str, *, migrate: callable) -> str:
        """The migrated template database for an Airflow version; `migrate(url)` runs the migration."""
        name = "tpl_airflow_" + version.replace(".", "_")
        with self._template_lock:
            ready = self.sql(f"SELECT datistemplate FROM pg_database WHERE datname = '{name}'")
            if ready == "t":
                return name
            # The template's objects belong to TEMPLATE_OWNER on an external server too: an environment's
            # database takes them over with REASSIGN OWNED, which needs that role (and not a superuser).
            password = files.secret(self._dir / f"{TEMPLATE_OWNER}.secret")
            if not self.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{TEMPLATE_OWNER}'"):
                self.sql(f"CREATE ROLE {TEMPLATE_OWNER} LOGIN PASSWORD '{password}'")
            elif not self.embedded:  # made by another control plane sharing the server
                self.sql(f"ALTER ROLE {TEMPLATE_OWNER} PASSWORD '{password}'")
            if ready:
                self.sql(f"DROP DATABASE {name}")
            self.sql(f"CREATE DATABASE {name} OWNER {TEMPLATE_OWNER}")
            migrate(self.url(name, user=TEMPLATE_OWNER, password=password))
            self.sql(f"ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        return name

    def create_env_database(self, env_id: str, template: str, secret_file: Path) -> str:
        """Create (once) the environment's role and database; returns its SQLAlchemy URL."""
        name = f"env_{env_id}"
        password = files.secret(secret_file)
        if not self.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'"):
            self.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        if not self.database_exists(name):
            self.sql(f"CREATE DATABASE {name} OWNER {name} TEMPLATE {template}")
            with self._template_lock:  # REASSIGN also moves the template databases themselves; move them back
                self.sql(f"REASSIGN OWNED BY {TEMPLATE_OWNER} TO {name}", database=name)
                moved = self.sql(f"SELECT datname FROM pg_database WHERE datname <> '{name}' AND datdba = "
                                 f"(SELECT oid FROM pg_roles WHERE rolname = '{name}')")
                for database in moved.split():
                    self.sql(f"ALTER DATABASE {database} OWNER TO {TEMPLATE_OWNER}")
            self.sql(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
        return self.url(name, user=name, password=password)

    def dump_env_database(self, env_id: str, path: Path) -> None:
        """A consistent copy of the environment's database (pg_dump custom format: one snapshot
        taken in a single transaction, so running components may keep writing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        self._client("pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
                     f"env_{env_id}", what="dumping the metadata database")
        partial.rename(path)

    def restore_env_database(self, env_id: str, path: Path, secret_file: Path) -> str:
        """Replace the environment's database by a dump (of this or another environment). The dump is
        restored into a new database first, so a failing restore leaves the current one as it was; only
        then is the current one dropped (connections forced out) and the new one renamed. Returns the URL."""
        name, staging = f"env_{env_id}", f"env_{env_id}_restoring"
        password = files.secret(secret_file)
        if not self.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'"):
            self.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        self.sql(f"DROP DATABASE IF EXISTS {staging} WITH (FORCE)")
        self.sql(f"CREATE DATABASE {staging} OWNER {name} TEMPLATE template0 ENCODING 'UTF8'")
        self.sql(f"REVOKE ALL ON DATABASE {staging} FROM PUBLIC")
        try:
            self._client("pg_restore", "--no-owner", "--no-privileges", f"--role={name}", "--exit-on-error",
                         "--single-transaction", f"--dbname={staging}", str(path),
                         what="restoring the metadata database")
        except errors.Permanent:
            self.sql(f"DROP DATABASE IF EXISTS {staging} WITH (FORCE)")
            raise
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.sql(f"ALTER DATABASE {staging} RENAME TO {name}")
        return self.url(name, user=name, password=password)

    def _client(self, tool: str, *args: str, what: str) -> None:
        result = subprocess.run([str(binaries.postgres_bin(tool)), "-h", self._host, "-p", str(self._port),
                                 "-U", self._user, *args], capture_output=True, text=True,
                                env={**os.environ, "PGPASSWORD": self._password})
        if result.returncode != 0:
            raise errors.Permanent(f"{what} failed: {result.stderr.strip()[-800:]}")

    def drop_env_database(self, env_id: str) -> None:
        name = f"env_{env_id}"
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.sql(f"DROP ROLE IF EXISTS {name}")


def _hand_to(user: str | None, *paths: Path) -> None:
    """Give `paths` to the server's system user and let it traverse their parents."""
    if user is None:
        return
    _ensure_user(user)
    entry = pwd.getpwnam(user)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)


def _traversable(path: Path) -> None:
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)


def _ensure_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                       check=True, capture_output=True)
