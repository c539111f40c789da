"""Mirror a bucket prefix into a folder, once (`sync_prefix`) or continuously (`DagSyncLoop`).

Only bytes are copied; nothing here imports DAG code. Every file is written to a temporary file in
its own folder and renamed into place, so Airflow never parses half a file. Keys that would land
outside the folder are refused, links found in the folder are removed, never followed.

A manifest beside the folder (`.<folder name>.sync.json`) remembers each file's ETag and the stat
it was written with, so a restart downloads only what changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aerodrome import errors
from aerodrome.bundles import paths
from aerodrome.bundles.base import Bucket, ObjectInfo

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
# Python writes these beside imported DAG files; they are the runtime's, not the bucket's.
_RUNTIME_FOLDERS = {"__pycache__"}


@dataclass(frozen=True)
class SyncResult:
    """Relative paths written new, rewritten and removed, and `"key: reason"` for keys left out."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def normalize_prefix(prefix: str) -> str:
    """"dags", "/dags/" -> "dags/"; "" or "/" -> "" (the whole bucket)."""
    stripped = prefix.strip("/")
    return f"{stripped}/" if stripped else ""


def manifest_path(target_dir: Path) -> Path:
    return target_dir.parent / f".{target_dir.name}.sync.json"


def mirror_hash(target_dir: Path) -> str:
    """A version of what the folder mirrors: sha256 over each file's relative path and ETag, from the
    manifest (so it names the bucket's contents, not local stat data)."""
    manifest = _read_manifest(manifest_path(target_dir))
    digest = hashlib.sha256()
    for relative, entry in sorted(manifest.items()):
        digest.update(f"{relative}\0{entry[0]}\n".encode())
    return "sha256:" + digest.hexdigest()


def sync_prefix(bucket: Bucket, prefix: str, target_dir: Path) -> SyncResult:
    """Make `target_dir` an exact mirror of the bucket's objects under `prefix`.

    Raises what `bucket.list` raises (a missing bucket: errors.NotFound) before touching anything,
    so a bucket that cannot be read never empties the folder.
    """
    base = normalize_prefix(prefix)
    wanted, problems = _plan(bucket.list(base), base)
    target_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(target_dir):
        return _mirror(bucket, wanted, problems, target_dir)


def _mirror(bucket: Bucket, wanted: dict[str, ObjectInfo], problems: list[str], target_dir: Path) -> SyncResult:
    manifest = _read_manifest(manifest_path(target_dir))
    removed = _remove_unwanted(target_dir, wanted)
    kept = {relative: manifest[relative] for relative in wanted if relative in manifest}
    added, changed = [], []
    try:
        for relative, info in sorted(wanted.items()):
            entry = kept.get(relative)
            if entry and entry[0] == info.etag and _stat_of(target_dir / relative) == tuple(entry[1:]):
                continue
            kept.pop(relative, None)
            try:
                outcome = _download(bucket, info, target_dir, relative)
            except errors.NotFound as exc:  # deleted since the listing; the next pass removes it
                problems.append(f"{info.key}: {exc}")
                continue
            except OSError as exc:
                problems.append(f"{info.key}: could not be written: {exc}")
                continue
            if written := _stat_of(target_dir / relative):
                kept[relative] = [info.etag, *written]
            if outcome == "added":
                added.append(relative)
            elif outcome == "changed":
                changed.append(relative)
    finally:  # what was done stays done, also when the bucket fails half-way
        _prune_empty_folders(target_dir)
        if kept != manifest:  # a pass that changed nothing (every second, mostly) writes nothing
            _write_manifest(manifest_path(target_dir), kept)
    return SyncResult(tuple(added), tuple(changed), tuple(sorted(removed)), tuple(problems))


def _plan(listing: list[ObjectInfo], base: str) -> tuple[dict[str, ObjectInfo], list[str]]:
    """The files the mirror must hold, by relative path, and the keys refused (with the reason)."""
    wanted: dict[str, ObjectInfo] = {}
    problems: list[str] = []
    for info in listing:
        if not info.key.startswith(base):
            continue
        relative = info.key[len(base):]
        if relative == "" or relative.endswith("/"):
            continue  # a folder marker
        if problem := paths.key_problem(relative):
            problems.append(f"{info.key}: not mirrored, {problem}")
            continue
        wanted[relative] = info
    folders: set[str] = set()
    for relative in wanted:
        segments = relative.split("/")
        folders.update("/".join(segments[:i]) for i in range(1, len(segments)))
    for relative in sorted(folders & wanted.keys()):
        problems.append(f"{wanted.pop(relative).key}: not mirrored, other keys use it as a folder")
    return wanted, problems


def _download(bucket: Bucket, info: ObjectInfo, target_dir: Path, relative: str) -> str:
    """Write one object into the mirror: "added", "changed" or "same" (already had these bytes)."""
    data = bucket.get(info.key)
    folder = _ensure_folder(target_dir, relative.rpartition("/")[0])
    path = folder / relative.rpartition("/")[2]
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        shutil.rmtree(path)  # holds no wanted file (see _plan), only runtime leftovers
        mode = None
    elif mode is not None and not stat.S_ISREG(mode):
        path.unlink()
        mode = None
    if mode is not None and path.read_bytes() == data:
        return "same"
    paths.write_atomically(path, data)
    return "added" if mode is None else "changed"


def _ensure_folder(target_dir: Path, relative_folder: str) -> Path:
    """Create the folder below `target_dir`, replacing any link or file in the way (never following it)."""
    here = target_dir
    for segment in relative_folder.split("/") if relative_folder else ():
        here = here / segment
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            here.mkdir()
            continue
        if not stat.S_ISDIR(mode):
            here.unlink()
            here.mkdir()
    return here


def _remove_unwanted(target_dir: Path, wanted: dict[str, ObjectInfo]) -> list[str]:
    """Delete every file and link in the mirror the bucket does not have; their relative paths."""
    removed = []
    for dirpath, dirnames, filenames in os.walk(target_dir):
        here = Path(dirpath)
        base = here.relative_to(target_dir).as_posix()
        base = "" if base == "." else base + "/"
        for name in list(dirnames):
            if (here / name).is_symlink():
                (here / name).unlink()
                dirnames.remove(name)
                removed.append(base + name)
            elif name in _RUNTIME_FOLDERS:
                dirnames.remove(name)
        for name in filenames:
            relative = base + name
            if relative in wanted and _stat_of(here / name) is not None:
                continue
            (here / name).unlink(missing_ok=True)
            if relative not in wanted and not name.startswith(paths.TEMP_PREFIX):
                removed.append(relative)
    return removed


def _prune_empty_folders(target_dir: Path) -> None:
    """Remove folders left empty (or holding only runtime caches) below `target_dir`."""
    for dirpath, _, _ in os.walk(target_dir, topdown=False):
        here = Path(dirpath)
        if here == target_dir or _RUNTIME_FOLDERS & set(here.relative_to(target_dir).parts):
            continue
        try:
            entries = os.listdir(here)
        except OSError:
            continue
        if all(e in _RUNTIME_FOLDERS and (here / e).is_dir() and not (here / e).is_symlink() for e in entries):
            for cache in entries:
                shutil.rmtree(here / cache, ignore_errors=True)
            with contextlib.suppress(OSError):
                here.rmdir()


@contextlib.contextmanager
def _exclusive(target_dir: Path) -> Iterator[None]:
    """One sync of a folder at a time, across threads and processes (a lock on the folder itself)."""
    fd = os.open(target_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _stat_of(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


def _read_manifest(path: Path) -> dict[str, list]:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(content, dict) or content.get("version") != MANIFEST_VERSION:
        return {}
    files = content.get("files")
    if not isinstance(files, dict):
        return {}
    return {relative: entry for relative, entry in files.items()
            if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)}


def _write_manifest(path: Path, files: dict[str, list]) -> None:
    body = json.dumps({"version": MANIFEST_VERSION, "files": files}, sort_keys=True)
    paths.write_atomically(path, body.encode(), mode=0o600)


class DagSyncLoop:
    """Syncs `prefix` into `target_dir` every `interval` seconds and on `trigger()`, in one thread.

    Errors never stop it and never empty the folder: the DAGs it has stay, `last_error` says what
    went wrong, and it retries (backing off to at most ten seconds, or `interval` if longer).
    `on_change(result)` runs in the loop's thread after each sync that changed the folder, and
    `on_error(exc)` after each failed one.
    """

    def __init__(self, bucket_factory: Callable[[], Bucket], prefix: str, target_dir: Path, *, interval: float,
                 on_change: Callable[[SyncResult], None] | None = None,
                 on_error: Callable[[Exception], None] | None = None):
        self._factory = bucket_factory
        self._bucket: Bucket | None = None
        self._prefix = prefix
        self._target = target_dir
        self._interval = interval
        self._on_change = on_change
        self._on_error = on_error
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dag-sync:{target_dir}", daemon=True)
        self.last_result: SyncResult | None = None
        self.last_error: str | None = None
        self.last_synced_at: float | None = None  # time.time() of the last sync that finished

    def start(self) -> None:
        self._thread.start()

    def trigger(self) -> None:
        """Sync now (or right after the sync under way)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._sync_once()
            except Exception as exc:  # noqa: BLE001 - the loop outlives any one failure
                failures += 1
                self._failed(exc, failures)
                if self._on_error is not None:
                    self._on_error(exc)
                self._wake.wait(self._backoff(exc, failures))
                continue
            if failures:
                log.info("DAG sync to %s recovered", self._target)
            failures = 0
            self._wake.wait(self._interval)

    def _sync_once(self) -> SyncResult:
        if self._bucket is None:
            self._bucket = self._factory()
        try:
            result = sync_prefix(self._bucket, self._prefix, self._target)
        except BaseException:
            self._bucket = None  # open it afresh next time: settings or the endpoint may have changed
            raise
        previous, self.last_result = self.last_result, result
        self.last_error, self.last_synced_at = None, time.time()
        if result.errors and (previous is None or previous.errors != result.errors):
            log.warning("DAG sync to %s left out %d key(s): %s", self._target, len(result.errors),
                        "; ".join(result.errors))
        if result.changes:
            log.info("DAG sync to %s: %d added, %d changed, %d removed", self._target, len(result.added),
                     len(result.changed), len(result.removed))
            if self._on_change is not None:
                try:
                    self._on_change(result)
                except Exception:  # a listener's bug must not stop the sync
                    log.exception("DAG sync listener failed")
        return result

    def _failed(self, exc: Exception, failures: int) -> None:
        message = str(exc) if isinstance(exc, errors.AerodromeError) else f"{type(exc).__name__}: {exc}"
        if message != self.last_error or failures == 1:
            known = isinstance(exc, (errors.AerodromeError, OSError))
            log.warning("DAG sync to %s failed (keeping the current DAGs): %s", self._target, message,
                        exc_info=None if known else exc)
        self.last_error = message

    def _backoff(self, exc: Exception, failures: int) -> float:
        ceiling = max(self._interval, 10.0)
        delay = self._interval * 2 ** min(failures - 1, 16)
        if isinstance(exc, errors.Temporary):
            delay = max(delay, exc.delay)
        return min(delay, ceiling)
