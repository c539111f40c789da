"""Mirror a bucket prefix into a directory, once (`sync_prefix`) or continuously (`DagSyncLoop`).

Only bytes are copied; nothing here imports DAG code. Each file is written atomically, so Airflow
never parses a half-written file.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from aerodrome import errors
from aerodrome.bundles.base import Bucket
from aerodrome.bundles.local import write_atomically

log = logging.getLogger(__name__)

MANIFEST = ".aerodrome-sync.json"


@dataclass(frozen=True)
class SyncResult:
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def sync_prefix(bucket: Bucket, prefix: str, target: Path) -> SyncResult:
    """Make `target` an exact mirror of the bucket's objects under `prefix`."""
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target.parent / f"{target.name}{MANIFEST}"
    previous: dict[str, str] = _read_manifest(manifest_path)
    base = prefix.strip("/")
    wanted: dict[str, str] = {}
    added, changed, skipped = [], [], []
    for info in bucket.list(base):
        relative = info.key[len(base):].lstrip("/") if base else info.key
        if not _safe(relative):
            skipped.append(info.key)
            continue
        wanted[relative] = info.etag
        path = target / relative
        if previous.get(relative) == info.etag and path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, bucket.get(info.key))
        (changed if relative in previous else added).append(relative)
    removed = [rel for rel in previous if rel not in wanted]
    for relative in removed:
        (target / relative).unlink(missing_ok=True)
    for stray in _untracked(target, wanted):
        stray.unlink(missing_ok=True)
    _prune_empty(target)
    manifest_path.write_text(json.dumps(wanted))
    if skipped:
        log.warning("skipped unsafe keys: %s", skipped)
    return SyncResult(tuple(added), tuple(changed), tuple(removed), tuple(skipped))


class DagSyncLoop:
    """Syncs every `interval` seconds (and on `trigger()`), keeping the DAGs it has on errors."""

    def __init__(self, open_bucket: Callable[[], Bucket], prefix: str, target: Path, *, interval: float):
        self._open = open_bucket
        self._prefix = prefix
        self._target = target
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sync:{target}", daemon=True)
        self.state = SyncState()

    def start(self) -> None:
        self._thread.start()

    def trigger(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = sync_prefix(self._open(), self._prefix, self._target)
                self.state.record(result)
            except (errors.AerodromeError, OSError) as exc:
                self.state.fail(str(exc))
                log.warning("DAG sync to %s failed: %s", self._target, exc)
            self._wake.wait(self._interval)
            self._wake.clear()


@dataclass
class SyncState:
    last_synced_at: float | None = None
    last_error: str | None = None
    changes: int = 0
    history: list[SyncResult] = field(default_factory=list)

    def record(self, result: SyncResult) -> None:
        self.last_synced_at, self.last_error = time.time(), None
        if result.changes:
            self.changes += result.changes
            self.history = (self.history + [result])[-20:]

    def fail(self, message: str) -> None:
        self.last_error = message


def _safe(relative: str) -> bool:
    if not relative or relative.startswith("/") or "\\" in relative:
        return False
    parts = PurePosixPath(relative).parts
    return ".." not in parts and not any(p.startswith(".tmp-") for p in parts)


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _untracked(target: Path, wanted: dict[str, str]) -> list[Path]:
    """Files in the mirror the bucket does not have (symlinks included), except Airflow's caches."""
    found = []
    for path in target.rglob("*"):
        relative = path.relative_to(target).as_posix()
        if "__pycache__" in path.parts:
            continue
        if (path.is_file() or path.is_symlink()) and relative not in wanted:
            found.append(path)
    return found


def _prune_empty(target: Path) -> None:
    for folder in sorted((p for p in target.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        if folder.name != "__pycache__" and not any(folder.iterdir()):
            folder.rmdir()
