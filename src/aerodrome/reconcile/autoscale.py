"""Worker autoscaling: every few seconds, each AVAILABLE environment's queued and running task
instances decide its Celery worker count (the pure domain.scaling.decide); the driver starts
workers or drains one. Every change is a `scale` event."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from aerodrome.domain import classes, scaling
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import Status
from aerodrome.reconcile.every import Every
from aerodrome.runtimes.base import RuntimeDriver
from aerodrome.store import environments
from aerodrome.store.db import Store

log = logging.getLogger(__name__)


class Autoscaler:
    def __init__(self, *, store: Store, driver: RuntimeDriver, interval: float = 2.0, scale_in_after: float = 60.0,
                 progress: Callable[[str, str], None] | None = None):
        self._store = store
        self._driver = driver
        self._scale_in_after = scale_in_after
        self._progress = progress or (lambda name, line: log.info("%s: %s", name, line))
        self._memory: dict[str, scaling.Memory] = {}
        self._stop = threading.Event()
        self._loop = Every(interval, self.tick_all, name="autoscale")

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._stop.set()  # also ends a pass over the environments between two of them
        self._loop.stop()

    def tick(self, record: environments.EnvironmentRecord) -> int | None:
        """Look at one environment once; the new worker count if it changed."""
        spec = record.applied_spec or record.spec
        placement = record.placement
        queued, running = self._driver.task_counts(placement)
        workers = self._driver.worker_count(spec, placement)
        load = scaling.Load(queued=queued, running=running)
        decision = scaling.decide(workers=workers, load=load, bounds=_bounds(spec), now=time.monotonic(),
                                  memory=self._memory.get(record.name, scaling.Memory()),
                                  scale_in_after=self._scale_in_after)
        if decision.workers == workers:
            self._memory[record.name] = decision.memory
            return None
        line = f"scaling workers {workers} -> {decision.workers} ({decision.reason})"
        if not self._driver.scale(spec, placement, decision.workers,
                                  progress=lambda text: self._progress(record.name, text)):
            return None  # an update or resync holds the environment; look again next time
        self._memory[record.name] = decision.memory
        with self._store.session() as session:
            environments.append_event(record.name, "scale", {"from": workers, "to": decision.workers, "queued": queued,
                                                     "running": running, "reason": decision.reason,
                                                     "arn": record.arn}, session=session)
        self._progress(record.name, line)
        return decision.workers

    # --- internals ---------------------------------------------------------------------------
    def tick_all(self) -> None:
        for record in self._available():
            if self._stop.is_set():
                return
            try:
                self.tick(record)
            except Exception:
                log.exception("autoscaling %s failed", record.name)

    def _available(self) -> list[environments.EnvironmentRecord]:
        with self._store.session() as session:
            records = environments.all_records(session=session)
        available = [r for r in records if r.status == Status.AVAILABLE]
        for name in set(self._memory) - {r.name for r in available}:
            self._memory.pop(name, None)
        return available


def _bounds(spec: EnvironmentSpec) -> scaling.Bounds:
    sizing = classes.CLASSES.get(spec.environment_class)
    return scaling.Bounds(min_workers=spec.min_workers, max_workers=spec.max_workers,
                          concurrency=sizing.concurrency if sizing else 5)
