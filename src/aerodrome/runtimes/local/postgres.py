"""One PostgreSQL server per host: the embedded binaries run as a supervised process, or an external
server named by a URL. What lives in it is `databases.py`'s."""

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
from aerodrome.runtimes.local import binaries, files, os_users
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor, as_user
from aerodrome.settings import Settings

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root


class Postgres:
    def __init__(self, settings: Settings, supervisor: Supervisor):
        self._settings = settings
        self._supervisor = supervisor
        self._dir = settings.services_dir / "postgres"
        self._lock = threading.Lock()
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

    @property
    def superuser(self) -> tuple[str, str]:
        """(name, password) of the superuser (known once the server runs)."""
        return self._user, self._password

    @property
    def folder(self) -> Path:
        """Where the embedded server keeps its data and secrets."""
        return self._dir

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
                os_users.traversable(binaries.postgres_bin("postgres").parent.parent)
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
        """Run `statement` as the superuser; the rows it returns, one per line. The statement goes in on
        stdin, never on the command line (it may set a password), and so does no credential."""
        result = subprocess.run(
            [str(binaries.postgres_bin("psql")), "-h", self._host, "-p", str(self._port), "-U", self._user,
             "-d", database, "-v", "ON_ERROR_STOP=1", "-qtA", "-f", "-"],
            input=statement, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": self._password})
        if result.returncode != 0:
            raise errors.Permanent(f"PostgreSQL: {result.stderr.strip()[-500:]}")
        return result.stdout.strip()

    def url(self, database: str, *, user: str, password: str) -> str:
        return f"postgresql+psycopg2://{quote(user)}:{quote(password, safe='')}@{self.address}/{database}"

    def database_exists(self, name: str) -> bool:
        return self.sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"

    def client(self, tool: str, *args: str, what: str) -> None:
        """Run a client tool (pg_dump, pg_restore) as the superuser; errors.Permanent naming `what`."""
        result = subprocess.run([str(binaries.postgres_bin(tool)), "-h", self._host, "-p", str(self._port),
                                 "-U", self._user, *args], capture_output=True, text=True,
                                env={**os.environ, "PGPASSWORD": self._password})
        if result.returncode != 0:
            raise errors.Permanent(f"{what} failed: {result.stderr.strip()[-800:]}")


def _hand_to(user: str | None, *paths: Path) -> None:
    """Give `paths` to the server's system user and let it traverse their parents."""
    if user is None:
        return
    _ensure_user(user)
    entry = pwd.getpwnam(user)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)
        os_users.traversable(path.parent)


def _ensure_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                       check=True, capture_output=True)
