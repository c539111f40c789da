"""Changing the schema of an environment's metadata database in a version change, and what the DAG
processor saw.

An upgrade runs `airflow db migrate` with the new version's venv; a downgrade runs `airflow db
downgrade` with the current (newer) version's venv, before the older version starts, because only
the newer version knows how to undo its own migrations.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.domain import versions
from aerodrome.runtimes.base import ParseReport
from aerodrome.runtimes.local import overlays

# Schema heads Airflow's own `_REVISION_HEADS_MAP` lacks (2.11 added no migration after 2.10.3)
DOWNGRADE_REVISIONS = {"2.11": "5f2621c13b39"}
MIGRATION_TIMEOUT = 1800.0
LOG_TAIL = 1500
# Downgrading below 3.0 puts back the FAB tables Airflow 2 needs; Airflow 3 does that through the FAB
# provider, which the 3.x venv does not carry (it uses the simple auth manager): it comes as an overlay.
FAB_PROVIDER = "apache-airflow-providers-fab\n"


# FAB tables the FAB provider of Airflow 3 creates have ids without defaults; Airflow 2's FAB inserts
# without an id (SERIAL): give such ids a sequence, started after the highest id
FAB_ID_DEFAULTS = """DO $$ DECLARE t text; BEGIN
FOR t IN SELECT c.table_name FROM information_schema.columns c WHERE c.table_schema = current_schema()
  AND c.table_name LIKE 'ab\\_%' AND c.column_name = 'id' AND c.column_default IS NULL AND c.is_identity = 'NO'
LOOP
  EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I OWNED BY %I.id', t || '_id_seq', t);
  EXECUTE format('ALTER TABLE %I ALTER COLUMN id SET DEFAULT nextval(%L)', t, t || '_id_seq');
  EXECUTE format('SELECT setval(%L, (SELECT coalesce(max(id), 0) + 1 FROM %I), false)', t || '_id_seq', t);
END LOOP; END $$"""


def tools(*, current: str, target: str, current_venv: Path, venvs_dir: Path,
          progress: Callable[[str], None] | None = None) -> Path | None:
    """What the schema change needs beside the venvs (built once, shared): the FAB overlay for 3.x -> 2.x."""
    if versions.parse(current)[0] < 3 or versions.parse(target)[0] >= 3:
        return None
    overlay = overlays.ensure_overlay(venvs_dir, current, current_venv, FAB_PROVIDER, plugins_dir=venvs_dir,
                                      plugins_id=None, progress=progress)
    return overlays.site(overlay) if overlay else None


def change(*, current: str, target: str, current_venv: Path, target_venv: Path, database_url: str,
         log: Path, extra_path: Path | None = None, sql: Callable[[str], str] | None = None) -> None:
    """Bring the database from `current`'s schema to `target`'s; errors.Permanent with the log's tail."""
    if versions.parse(target) > versions.parse(current):
        _airflow(target_venv, database_url, log, "db", "migrate")
        return
    revision = DOWNGRADE_REVISIONS.get(".".join(target.split(".")[:2]))
    to = ["--to-revision", revision] if revision else ["--to-version", target]
    _airflow(current_venv, database_url, log, "db", "downgrade", *to, "-y", extra_path=extra_path)
    if versions.parse(target)[0] < 3 <= versions.parse(current)[0]:
        if sql is not None:
            sql(FAB_ID_DEFAULTS)
        _airflow(target_venv, database_url, log, "sync-perm")  # Airflow 2's FAB roles (Admin, Op, ...)


def set_aside_config(airflow_home: Path, label: str) -> None:
    """Airflow writes its defaults to airflow.cfg on first start, and another version would read them
    (e.g. Airflow 3's auth manager on Airflow 2): keep it as airflow.cfg.<label>; the next start
    writes the right version's defaults (everything Aerodrome sets comes through the environment)."""
    config = airflow_home / "airflow.cfg"
    if config.exists():
        config.replace(airflow_home / f"airflow.cfg.{label}")


def _airflow(venv: Path, database_url: str, log: Path, *args: str, extra_path: Path | None = None) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home, open(log, "a") as out:
        out.write(f"$ airflow {' '.join(args)}  ({time.strftime('%Y-%m-%dT%H:%M:%S')})\n")
        out.flush()
        env = {"PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": home,
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "AIRFLOW_HOME": home,
               "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               **({"PYTHONPATH": str(extra_path)} if extra_path else {})}
        try:
            result = subprocess.run([str(venv / "bin" / "airflow"), *args], env=env, stdout=out,
                                    stderr=subprocess.STDOUT, timeout=MIGRATION_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise errors.Permanent(f"`airflow {' '.join(args[:2])}` did not finish in {MIGRATION_TIMEOUT:.0f} s "
                                   f"(log: {log})") from None
    if result.returncode != 0:
        raise errors.Permanent(f"`airflow {' '.join(args[:2])}` failed: {_last_line(log)} (log: {log})")


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace")[-LOG_TAIL:].splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


PARSED_SQL = ("SELECT fileloc FROM dag WHERE last_parsed_time >= to_timestamp({since}) "
              "UNION SELECT filename FROM import_error WHERE timestamp >= to_timestamp({since})")
# file <US> traceback with lines joined by <GS> <RS>: rows and lines survive psql's plain output
ERRORS_SQL = ("SELECT filename || chr(31) || replace(replace(coalesce(stacktrace, ''), chr(10), chr(29)), "
              "chr(30), ' ') || chr(30) FROM import_error WHERE timestamp >= to_timestamp({since})")


def parse_report(sql: Callable[[str], str], *, dags_dir: Path, since: float) -> ParseReport:
    """What the DAG processor recorded from `since` (epoch seconds); `sql(statement)` returns psql -tA text."""
    parsed = {_relative(line, dags_dir) for line in sql(PARSED_SQL.format(since=since)).splitlines() if line}
    found = {}
    for row in sql(ERRORS_SQL.format(since=since)).split(chr(30)):
        name, _, trace = row.strip("\n").partition(chr(31))
        if name:
            lines = [line.strip() for line in trace.split(chr(29)) if line.strip()]
            found[_relative(name, dags_dir)] = lines[-1][-300:] if lines else "import failed"
    return ParseReport(parsed=frozenset(p for p in parsed if (dags_dir / p).exists()), errors=found)


def _relative(name: str, dags_dir: Path) -> str:
    path = Path(name)
    try:
        return str(path.relative_to(dags_dir)) if path.is_absolute() else name
    except ValueError:
        return name
