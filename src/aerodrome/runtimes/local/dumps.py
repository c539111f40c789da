"""Dumps of an environment's metadata database on the local runtime: dump and restore (a version
change's safety copy, a snapshot's database), count what a dump holds, the secrets the database
depends on, and the staged restore of a snapshot load, applied before any component starts.

A snapshot load stages `restore/` in the environment's folder (dump, secrets, expected counts, then the
`ready` marker). `apply_pending` (called by `LocalDriver.ensure`) stops the environment's
processes, empties its broker namespace, writes the secrets, restores the database, counts what
it holds and writes `restore/result.json`; only then does it drop the marker, so a crash midway
restores again on the next ensure. The control plane reports the result and removes the folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.domain import snapshots
from aerodrome.domain.placement import Placement
from aerodrome.runtimes.base import Progress
from aerodrome.runtimes.local import binaries, schema
from aerodrome.runtimes.local.databases import Databases
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.runtimes.local.redis import Brokers

CARRIED = ("fernet.secret", "passwords.json", "fab-*")  # secrets/ files the database depends on
RESTORE = "restore"
READY = "ready"
RESULT = "result.json"


class LocalDumps:
    def __init__(self, *, postgres: Postgres, databases: Databases, brokers: Brokers,
                 stop: Callable[[Placement], None]):
        self._postgres = postgres
        self._databases = databases
        self._brokers = brokers
        self._stop = stop

    def dump_database(self, placement: Placement, path: Path) -> None:
        """A consistent copy of the database at `path` (the environment may keep running)."""
        self._postgres.ensure_running()
        self._databases.dump(placement.env_id, path)

    def restore_database(self, placement: Placement, path: Path) -> None:
        """Replace the database by the dump at `path`; the configuration the other version wrote goes aside."""
        self._postgres.ensure_running()
        self._databases.restore(placement.env_id, path, placement.root / "secrets" / "db.secret")
        schema.set_aside_config(placement.root / "airflow_home", "before-restore")

    @staticmethod
    def database_secrets(placement: Placement) -> dict[str, str]:
        folder = placement.root / "secrets"
        found = [p for pattern in CARRIED for p in sorted(folder.glob(pattern)) if p.is_file()]
        return {p.name: p.read_text() for p in found}

    @staticmethod
    def stage_restore(placement: Placement, *, dump: Path, secrets: dict[str, str], expected: dict,
                      snapshot_id: str) -> None:
        folder = placement.root / RESTORE
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, mode=0o700)
        shutil.move(dump, folder / snapshots.DUMP)  # a rename on the same file system
        _write_private(folder / "secrets.json", json.dumps(secrets))
        (folder / "expected.json").write_text(json.dumps({"snapshot": snapshot_id, "counts": expected}))
        (folder / READY).write_text(snapshot_id)

    @staticmethod
    def restore_result(placement: Placement) -> dict | None:
        path = placement.root / RESTORE / RESULT
        return json.loads(path.read_text()) if path.exists() else None

    @staticmethod
    def clear_restore(placement: Placement) -> None:
        shutil.rmtree(placement.root / RESTORE, ignore_errors=True)

    @staticmethod
    def restore_pending(placement: Placement) -> bool:
        return (placement.root / RESTORE / READY).exists()

    def apply_pending(self, placement: Placement, *, progress: Progress | None = None) -> None:
        """Restore a staged snapshot before anything starts (idempotent; nothing when none is staged)."""
        folder = placement.root / RESTORE
        if not (folder / READY).exists():
            return
        expected = json.loads((folder / "expected.json").read_text())
        if progress:
            progress(f"restoring snapshot {expected['snapshot']}")
        try:
            counts = self._restore(placement, folder)
        except errors.Permanent as exc:  # reported once; a rollback must not restore again
            _finish(folder, {"snapshot": expected["snapshot"], "verified": False, "error": str(exc)})
            raise
        ok, text = snapshots.verify(expected["counts"], counts)
        _finish(folder, {"snapshot": expected["snapshot"], "counts": counts, "expected": expected["counts"],
                         "verified": ok, "detail": text})
        if progress:
            progress(f"restored snapshot {expected['snapshot']}: {text}")
        if not ok:
            raise errors.Permanent(f"The restored database does not hold what snapshot {expected['snapshot']} "
                                   f"counted: {text}")

    def _restore(self, placement: Placement, folder: Path) -> dict[str, int]:
        self._stop(placement)
        self._brokers.flush(placement)
        secrets_dir = placement.root / "secrets"
        for name, value in json.loads((folder / "secrets.json").read_text()).items():
            _write_private(secrets_dir / name, value)
        self._databases.restore(placement.env_id, folder / snapshots.DUMP, secrets_dir / "db.secret")
        return self.counts(placement)

    def counts(self, placement: Placement) -> dict[str, int]:
        database = f"env_{placement.env_id}"
        return {key: int(self._postgres.sql(f"SELECT count(*) FROM {table}", database=database))
                for key, table in snapshots.COUNTED.items()}


def dump_counts(path: Path) -> dict[str, int]:
    """Rows of the counted tables inside a custom-format dump (its data, as pg_restore prints it)."""
    tables = [arg for table in snapshots.COUNTED.values() for arg in ("--table", table)]
    result = subprocess.run([str(binaries.postgres_bin("pg_restore")), "--data-only", *tables, "--file=-", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise errors.Permanent(f"reading the dump failed: {result.stderr.strip()[-500:]}")
    rows: dict[str, int] = {}
    table = None
    for line in result.stdout.splitlines():
        if table is None and line.startswith("COPY "):
            table = line.split()[1].rpartition(".")[2].strip('"')
            rows[table] = 0
        elif table is not None:
            if line == "\\.":
                table = None
            else:
                rows[table] += 1
    return {key: rows.get(table, 0) for key, table in snapshots.COUNTED.items()}


def _finish(folder: Path, result: dict) -> None:
    """Drop the staged files, then publish the result (the control plane reports and removes it)."""
    partial = folder / (RESULT + ".partial")
    partial.write_text(json.dumps(result))
    for name in (READY, snapshots.DUMP, "secrets.json"):
        (folder / name).unlink(missing_ok=True)
    partial.replace(folder / RESULT)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    partial.replace(path)
