"""An environment's Celery workers: surge replacement, scaling, and draining instead of killing.

Workers are named `worker-N` (Celery hostname `worker-N@<env id>`), N the lowest number free, so a
replacement never shares a hostname with the worker it replaces. A worker whose configuration
changed, or that is no longer wanted, is drained (draining.py): it finishes its running tasks and
exits. Replacements start first, and the old workers are drained once the new ones consume.

The current worker count (autoscaling) lives in `run/scale.json`, so it survives a restart.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import processes
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor

log = logging.getLogger(__name__)

NAME = re.compile(r"^worker-(\d+)$")
READY_TIMEOUT = 420.0  # a startup script may take up to its own limit before the worker starts


def count(spec: EnvironmentSpec, run_dir: Path) -> int:
    """The worker count to run: the autoscaler's choice, within the spec's bounds."""
    try:
        stored = int(json.loads((run_dir / "scale.json").read_text())["workers"])
    except (OSError, ValueError, KeyError, TypeError):
        stored = spec.min_workers
    return max(spec.min_workers, min(spec.max_workers, stored))


def record_count(run_dir: Path, workers: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    temporary = run_dir / "scale.json.tmp"
    temporary.write_text(json.dumps({"workers": workers}))
    temporary.replace(run_dir / "scale.json")


def forget_count(run_dir: Path) -> None:
    (run_dir / "scale.json").unlink(missing_ok=True)


def recorded_names(run_dir: Path) -> list[str]:
    """Workers an earlier control plane started (their pid files)."""
    return [p.stem for p in run_dir.glob("worker-*.pid") if NAME.match(p.stem)]


def busy_slots(pid: int | None) -> int:
    """Pool processes of a worker that run a task (a task is a child of its pool process)."""
    try:
        return sum(1 for child in psutil.Process(pid).children() if child.children())
    except (psutil.Error, TypeError, ValueError):
        return 0


def consuming(pid: int | None) -> bool:
    """The worker has forked its pool: Celery is past start-up (not in a startup script or import)."""
    try:
        main = psutil.Process(pid)
        return not processes.in_startup_script(pid) and bool(main.children())
    except (psutil.Error, TypeError, ValueError):
        return False


class WorkerPool:
    def __init__(self, supervisor: Supervisor, *, drain_limit: float, ready_timeout: float = READY_TIMEOUT):
        self._supervisor = supervisor
        self._drain_limit = drain_limit
        self._ready_timeout = ready_timeout

    def converge(self, env_id: str, run_dir: Path, workers: int, make: Callable[[str], ProcessSpec], *,
                 progress: Callable[[str], None] | None = None,
                 meanwhile: Callable[[], None] | None = None, drain_limit: float | None = None) -> list[str]:
        """Run `workers` workers of `make`'s configuration; returns their names. `meanwhile` runs
        after replacements have started and before old workers are drained (for at most
        `drain_limit` seconds, by default the pool's)."""
        say = progress or (lambda line: None)
        limit = self._drain_limit if drain_limit is None else drain_limit
        self._supervisor.drains.adopt(run_dir / "draining")
        names = sorted(set(self.names(env_id)) | set(recorded_names(run_dir)), key=_number)
        current = [n for n in names if self._supervisor.attach(make(n))]
        outdated = [n for n in names if n not in current]
        current.sort(key=lambda n: (-busy_slots(self._pid(env_id, n)), _number(n)))  # busiest first
        kept, extra = current[:workers], current[workers:]
        taken = set(names) | {n.rsplit("/", 1)[-1] for n in self._supervisor.drains.names(f"{env_id}/")}
        fresh = _free(taken, workers - len(kept))
        for name in fresh:
            self._supervisor.ensure(make(name))
        if fresh:
            say(f"started {', '.join(fresh)}")
        for name in extra:
            self._drain(env_id, run_dir, name, say, limit=self._drain_limit)
        if meanwhile is not None:
            meanwhile()
        if outdated and fresh and not self._ready(env_id, fresh):
            say(f"{', '.join(fresh)} did not start consuming; {', '.join(outdated)} keep running")
            return sorted(kept + fresh, key=_number)
        for name in outdated:
            self._drain(env_id, run_dir, name, say, limit=limit)
        return sorted(kept + fresh, key=_number)

    def names(self, env_id: str) -> list[str]:
        prefix = f"{env_id}/"
        return [n[len(prefix):] for n in self._supervisor.names(prefix) if NAME.match(n[len(prefix):])]

    def draining(self, env_id: str) -> list[int]:
        return self._supervisor.drains.pids(f"{env_id}/worker-")

    # --- internals ---------------------------------------------------------------------------
    def _drain(self, env_id: str, run_dir: Path, name: str, say: Callable[[str], None], *, limit: float) -> None:
        self._supervisor.drain(f"{env_id}/{name}", pid_file=run_dir / f"{name}.pid", into=run_dir / "draining",
                               limit=limit)
        say(f"draining {name}: it takes no new tasks and exits when its running tasks finish" if limit else
            f"stopping {name} (WorkerReplacementStrategy FORCED)")

    def _ready(self, env_id: str, names: list[str]) -> bool:
        """Wait until every new worker consumes; False if one is not running or the wait runs out."""
        deadline = time.monotonic() + self._ready_timeout
        waiting = list(names)
        while waiting and time.monotonic() < deadline:
            waiting = [n for n in waiting if not consuming(self._pid(env_id, n))]
            if any(self._supervisor.recent_exits(f"{env_id}/{n}") for n in waiting):
                return False
            time.sleep(0.25)
        return not waiting

    def _pid(self, env_id: str, name: str) -> int | None:
        return self._supervisor.state(f"{env_id}/{name}")[1]


def _number(name: str) -> int:
    return int(name.rsplit("-", 1)[-1])


def _free(taken: set[str], wanted: int) -> list[str]:
    fresh: list[str] = []
    number = 1
    while len(fresh) < wanted:
        if f"worker-{number}" not in taken:
            fresh.append(f"worker-{number}")
        number += 1
    return fresh
