"""What lives in the PostgreSQL server: one migrated template database per Airflow version, and one
database per environment, a copy of its version's template (`CREATE DATABASE … TEMPLATE`) owned by
the environment's own role. Also the environment database's dump and restore."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.runtimes.local import files
from aerodrome.runtimes.local.postgres import Postgres

TEMPLATE_OWNER = "airflow_template"


class Databases:
    def __init__(self, server: Postgres):
        self._server = server
        self._template_lock = threading.Lock()

    def ensure_template(self, version: str, *, migrate: Callable[[str], None]) -> str:
        """The migrated template database for an Airflow version; `migrate(url)` runs the migration."""
        name = "tpl_airflow_" + version.replace(".", "_")
        with self._template_lock:
            ready = self._server.sql(f"SELECT datistemplate FROM pg_database WHERE datname = '{name}'")
            if ready == "t":
                return name
            # The template's objects belong to TEMPLATE_OWNER on an external server too: an environment's
            # database takes them over with REASSIGN OWNED, which needs that role (and not a superuser).
            password = files.secret(self._server.folder / f"{TEMPLATE_OWNER}.secret")
            if not self._server.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{TEMPLATE_OWNER}'"):
                self._server.sql(f"CREATE ROLE {TEMPLATE_OWNER} LOGIN PASSWORD '{password}'")
            elif not self._server.embedded:  # made by another control plane sharing the server
                self._server.sql(f"ALTER ROLE {TEMPLATE_OWNER} PASSWORD '{password}'")
            if ready:
                self._server.sql(f"DROP DATABASE {name}")
            self._server.sql(f"CREATE DATABASE {name} OWNER {TEMPLATE_OWNER}")
            migrate(self._server.url(name, user=TEMPLATE_OWNER, password=password))
            self._server.sql(f"ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        return name

    def create(self, env_id: str, template: str, secret_file: Path) -> str:
        """Create (once) the environment's role and database; returns its SQLAlchemy URL. Every step is
        checked again on each call, so a control plane killed halfway finishes the job next time."""
        name = f"env_{env_id}"
        password = files.secret(secret_file)
        if not self._server.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'"):
            self._server.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        if not self._server.database_exists(name):
            self._server.sql(f"CREATE DATABASE {name} OWNER {name} TEMPLATE {template}")
        self._server.sql(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
        with self._template_lock:
            if self._server.sql(f"SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                                f"WHERE r.rolname = '{TEMPLATE_OWNER}' LIMIT 1", database=name):
                self._server.sql(f"REASSIGN OWNED BY {TEMPLATE_OWNER} TO {name}", database=name)
            self._return_templates(name)  # REASSIGN also moves the template databases themselves
        return self._server.url(name, user=name, password=password)

    def dump(self, env_id: str, path: Path) -> None:
        """A consistent copy of the environment's database (pg_dump custom format, read in a single
        transaction, so running components may keep writing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        self._server.client("pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
                     f"env_{env_id}", what="dumping the metadata database")
        partial.rename(path)

    def restore(self, env_id: str, path: Path, secret_file: Path) -> str:
        """Replace the environment's database by a dump (of this or another environment). The dump is
        restored into a new database first, so a failing restore leaves the current one as it was; only
        then is the current one dropped (connections forced out) and the new one renamed. Returns the URL."""
        name, staging = f"env_{env_id}", f"env_{env_id}_restoring"
        password = files.secret(secret_file)
        if not self._server.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'"):
            self._server.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        self._server.sql(f"DROP DATABASE IF EXISTS {staging} WITH (FORCE)")
        self._server.sql(f"CREATE DATABASE {staging} OWNER {name} TEMPLATE template0 ENCODING 'UTF8'")
        self._server.sql(f"REVOKE ALL ON DATABASE {staging} FROM PUBLIC")
        try:
            self._server.client("pg_restore", "--no-owner", "--no-privileges", f"--role={name}", "--exit-on-error",
                         "--single-transaction", f"--dbname={staging}", str(path),
                         what="restoring the metadata database")
        except errors.Permanent:
            self._server.sql(f"DROP DATABASE IF EXISTS {staging} WITH (FORCE)")
            raise
        self._server.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._server.sql(f"ALTER DATABASE {staging} RENAME TO {name}")
        return self._server.url(name, user=name, password=password)

    def drop(self, env_id: str) -> None:
        name = f"env_{env_id}"
        self._server.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if self._server.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'"):
            with self._template_lock:  # a create cut short may have left it owning a template database
                self._return_templates(name)
            self._server.sql(f"DROP ROLE IF EXISTS {name}")

    def _return_templates(self, role: str) -> None:
        """Give back to TEMPLATE_OWNER any database other than the role's own that the role owns."""
        moved = self._server.sql(f"SELECT datname FROM pg_database WHERE datname <> '{role}' AND datdba = "
                                 f"(SELECT oid FROM pg_roles WHERE rolname = '{role}')")
        for database in moved.split():
            self._server.sql(f"ALTER DATABASE {database} OWNER TO {TEMPLATE_OWNER}")

    def figures(self, env_id: str) -> dict[str, float]:
        """Cumulative figures of the environment's database from the server's statistics: open
        connections, blocks read from disk, rows written, milliseconds spent reading (with
        track_io_timing), and the CPU seconds its current server processes have used."""
        name = f"env_{env_id}"
        row = self._server.sql(
            f"SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'), blks_read, "
            f"tup_inserted + tup_updated + tup_deleted, blk_read_time, "
            f"(SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = '{name}') "
            f"FROM pg_stat_database WHERE datname = '{name}'")
        if not row:
            return {}
        connections, blocks, rows, read_ms, pids = (row.split("|") + [""] * 5)[:5]
        return {"connections": float(connections), "blocks_read": float(blocks), "rows_written": float(rows),
                "read_ms": float(read_ms or 0), "cpu_seconds": _cpu_seconds(pids.split())}


def _cpu_seconds(pids: list[str]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(int(pid)).cpu_times()
        except (psutil.Error, ValueError):
            continue
        total += times.user + times.system
    return total
