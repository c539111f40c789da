"""Processes being drained: asked to finish their work and exit on their own.

Draining a Celery worker is its warm shutdown: SIGTERM to the worker's main process only (not its
process group, where the running task processes live). The worker stops taking tasks, waits for the
running ones and exits; with Airflow's acks_late, messages it had reserved but not started go back
to the queue. After `limit` seconds the process group is stopped hard, and that is logged.

A drain is recorded in a pid file under the folder it was given (pid, start time, deadline), so a
new control plane re-adopts it after a restart and keeps waiting instead of killing it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psutil

from aerodrome.runtimes.local import processes

log = logging.getLogger(__name__)

HARD_GRACE = 10.0


class KillGroup(Protocol):
    """Stop `process` and its process group: `sig` first, SIGKILL for what is left after `grace` seconds."""

    def __call__(self, process: psutil.Process, *, grace: float, sig: int) -> None: ...


@dataclass
class _Drain:
    name: str
    process: psutil.Process
    record: Path
    deadline: float  # wall clock
    popen: subprocess.Popen | None = None
    thread: threading.Thread | None = None
    stop_now: threading.Event = field(default_factory=threading.Event)


class Drains:
    def __init__(self, *, kill_group: KillGroup) -> None:
        self._kill_group = kill_group
        self._drains: dict[str, _Drain] = {}  # by record path
        self._lock = threading.Lock()

    def start(self, name: str, process: psutil.Process, *, into: Path, limit: float,
              popen: subprocess.Popen | None = None) -> None:
        """Send the warm-shutdown signal to `process` and watch it until it exits."""
        into.mkdir(parents=True, exist_ok=True)
        record = into / f"{name.rsplit('/', 1)[-1]}-{process.pid}.pid"
        deadline = time.time() + limit
        record.write_text(json.dumps({"name": name, "pid": process.pid, **processes.start_mark(process),
                                      "deadline": deadline}))
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGTERM)
        log.info("draining %s (pid %s) for at most %.0f s", name, process.pid, limit)
        self._watch(_Drain(name, process, record, deadline, popen=popen))

    def adopt(self, folder: Path) -> list[str]:
        """Keep waiting for drains an earlier control plane started (their records in `folder`)."""
        adopted = []
        for record in sorted(folder.glob("*.pid")) if folder.is_dir() else []:
            with self._lock:
                if str(record) in self._drains:
                    continue
            try:
                data = json.loads(record.read_text())
                process = processes.marked(data["pid"], data)
            except (OSError, ValueError, KeyError, TypeError):
                process = None
            if process is None:
                record.unlink(missing_ok=True)
                continue
            self._watch(_Drain(data["name"], process, record, data["deadline"]))
            adopted.append(data["name"])
        return adopted

    def names(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [d.name for d in self._drains.values() if d.name.startswith(prefix)]

    def pids(self, prefix: str = "") -> list[int]:
        with self._lock:
            return [d.process.pid for d in self._drains.values() if d.name.startswith(prefix)]

    def stop(self, prefix: str = "") -> None:
        """Stop matching drains now (environment stop, control-plane shutdown)."""
        with self._lock:
            chosen = [d for d in self._drains.values() if d.name.startswith(prefix)]
        for drain in chosen:
            drain.stop_now.set()
        for drain in chosen:
            if drain.thread is not None:
                drain.thread.join()

    # --- internals ---------------------------------------------------------------------------
    def _watch(self, drain: _Drain) -> None:
        drain.thread = threading.Thread(target=self._wait, args=(drain,), name=f"drain {drain.name}", daemon=True)
        with self._lock:
            self._drains[str(drain.record)] = drain
        drain.thread.start()

    def _wait(self, drain: _Drain) -> None:
        try:
            while processes.alive(drain.process, drain.popen):
                if drain.stop_now.is_set():
                    self._kill_group(drain.process, grace=HARD_GRACE, sig=signal.SIGTERM)
                    break
                if time.time() > drain.deadline:
                    log.warning("%s did not finish draining in time; stopping it hard", drain.name)
                    self._kill_group(drain.process, grace=HARD_GRACE, sig=signal.SIGTERM)
                    break
                drain.stop_now.wait(0.5)
            _reap(drain)
            log.info("%s drained", drain.name)
        finally:
            drain.record.unlink(missing_ok=True)
            with self._lock:
                self._drains.pop(str(drain.record), None)


def _reap(drain: _Drain) -> None:
    """Stray members of the process group of our own child, then its exit status: the group is
    killed while the child is still uncollected, so its id names no one else's group. An adopted
    drain's group is left alone (its id may have been reused)."""
    if drain.popen is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(drain.process.pid, signal.SIGKILL)  # the worker led its own session
    processes.reap(drain.popen)
