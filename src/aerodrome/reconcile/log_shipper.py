"""Ships every environment's log files into CloudWatch Logs' store every few seconds, as MWAA ships
its containers' logs: one log group per log type that LoggingConfiguration enables
(`airflow-<Environment>-Task|Scheduler|DAGProcessing|WebServer|Worker`; the level is applied by
Airflow itself), one stream per file, named as MWAA names them: a component's `<component>_<host>_<epoch>.log`
(the epoch of when the shipper first read that file, so a replaced file starts a new stream), a
task's log by its path:

    Scheduler       logs/scheduler-N.log, logs/triggerer.log (MWAA runs the triggerer with the scheduler)
    DAGProcessing   logs/dag-processor.log, logs/dag_processor/**  (stream: the path below logs/)
    WebServer       logs/api-server.log, logs/webserver.log
    Worker          logs/worker-N.log
    Task            logs/task/dag_id=.../run_id=.../task_id=.../attempt=N.log  (stream: that path, ':' -> '_')

Groups Aerodrome makes keep their events `retention_days` (14 by default, one of CloudWatch's
values) unless PutRetentionPolicy says otherwise; `ship` drops older events once an hour.

Each line is an event; its time is the timestamp the line starts with (or a JSON line's
`timestamp`), else the time of the line before it. Only whole lines are read, at most 4 MiB per
file per pass; a file that shrank or was replaced is read again from its start.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import socket
import time
from pathlib import Path

from aerodrome.domain.spec import log_group
from aerodrome.domain.status import Status
from aerodrome.store import environments
from aerodrome.store.db import Store
from aerodrome.telemetry.log_store import LogStore, now_ms

log = logging.getLogger(__name__)

READ_LIMIT = 4 * 1024 * 1024
PRUNE_EVERY = 3600.0
_STAMP = re.compile(rb"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)")


def log_files(logs_dir: Path) -> list[tuple[str, str, Path]]:
    """(log type, stream name, file) for the environment's log files; a component's stream name is
    its file's stem here, to which `ship` adds the host and epoch."""
    found: list[tuple[str, str, Path]] = []
    for path in sorted(logs_dir.glob("*.log")):
        name = path.stem
        if name.startswith(("scheduler", "triggerer")):
            found.append(("SchedulerLogs", name, path))
        elif name.startswith("dag-processor"):
            found.append(("DagProcessingLogs", name, path))
        elif name.startswith(("api-server", "webserver")):
            found.append(("WebserverLogs", name, path))
        elif name.startswith("worker-"):
            found.append(("WorkerLogs", name, path))
    for folder, log_type in (("dag_processor", "DagProcessingLogs"), ("task", "TaskLogs")):
        base = logs_dir / folder
        if base.is_dir():
            for path in sorted(base.rglob("*.log")):
                relative = path.relative_to(base if folder == "task" else logs_dir).as_posix()
                found.append((log_type, relative.replace(":", "_"), path))
    return found


def timestamp_of(line: bytes) -> int | None:
    """The time (ms) a log line starts with, or a JSON line's `timestamp`, if it has one."""
    found = _STAMP.match(line)
    text: str | None = found.group(1).decode() if found else None
    if text is None and line.startswith(b"{"):
        try:
            value = json.loads(line)
        except ValueError:
            return None
        stamp = value.get("timestamp") if isinstance(value, dict) else None
        text = stamp if isinstance(stamp, str) else None
    if text is None:
        return None
    text = text.replace(",", ".").replace(" ", "T").replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


class LogShipper:
    """`ship` is one pass; the control plane runs it every few seconds (reconcile.every.Every)."""

    def __init__(self, *, store: Store, logs: LogStore, retention_days: int | None = 14):
        self._store = store
        self._logs = logs
        self._retention = retention_days
        self._host = socket.gethostname()
        self._last_time: dict[str, int] = {}  # path -> the time of its last line read
        self._pruned = time.monotonic()

    def ship(self) -> int:
        """One pass over every environment's enabled log files; how many events were stored."""
        with self._store.session() as session:
            records = [r for r in environments.all_records(session=session) if r.status != Status.DELETING]
        shipped = 0
        for record in records:
            spec = record.applied_spec or record.spec
            enabled = {t for t, setting in spec.logging.items() if setting.enabled}
            if not enabled or record.placement is None:
                continue
            for log_type in enabled:
                self._logs.create_group(log_group(spec.name, log_type), managed=True, retention_days=self._retention)
            for log_type, stream, path in log_files(record.placement.logs_dir):
                if log_type in enabled:
                    try:
                        shipped += self._file(log_group(spec.name, log_type), stream, path)
                    except OSError as exc:
                        log.debug("could not read %s: %s", path, exc)
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            self._logs.prune()
            self._pruned = time.monotonic()
        return shipped

    def _file(self, group: str, stream: str, path: Path) -> int:
        info = path.stat()
        known = self._logs.position(str(path))
        same = known is not None and known[0] == info.st_ino and known[1] <= info.st_size
        offset = known[1] if known and same else 0
        if offset == info.st_size:
            return 0
        if known and same:
            stream = known[2]
        elif "/" not in stream:  # a component's file, new or replaced: a new stream, as a new container's
            stream = f"{stream}_{self._host}_{int(time.time())}.log"
        with open(path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read(READ_LIMIT)
        whole = chunk[:chunk.rfind(b"\n") + 1]
        if not whole:
            return 0
        last = self._last_time.get(str(path)) or int(info.st_mtime * 1000) or now_ms()
        events = []
        for line in whole.splitlines():
            if not line.strip():
                continue
            last = timestamp_of(line) or last
            events.append((last, line.decode("utf-8", "replace")))
        self._last_time[str(path)] = last
        return self._logs.append(group, stream, events, position=(str(path), info.st_ino, offset + len(whole)))
