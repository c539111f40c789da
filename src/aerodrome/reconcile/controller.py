"""Work queue: serial per environment, parallel across environments, periodic resync."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
FIRST_BACKOFF = 2.0
MAX_ATTEMPTS = 5  # unexpected errors in a row before the operation ends failed


class Controller:
    """Calls `handler(name)` for woken environments. The handler returns a delay to look again,
    or None when the environment is settled; it never runs twice at once for one name.

    An unexpected error is retried with capped backoff; after `max_attempts` in a row,
    `give_up(name, error)` ends the operation (in its failed status) and the count starts again."""

    def __init__(self, handler: Callable[[str], float | None], *, names: Callable[[], list[str]],
                 give_up: Callable[[str, str], None] | None = None, workers: int = 4,
                 resync_interval: float = 10.0, max_attempts: int = MAX_ATTEMPTS,
                 first_backoff: float = FIRST_BACKOFF):
        self._handler = handler
        self._names = names
        self._give_up = give_up
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff
        self._workers = workers
        self._resync_interval = resync_interval
        self._cond = threading.Condition()
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._stopped = threading.Event()  # the resync waits on this, not on `_cond`, which every wake notifies

    def start(self) -> None:
        for index in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"reconcile-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        resync = threading.Thread(target=self._resync, name="reconcile-resync", daemon=True)
        resync.start()
        self._threads.append(resync)

    def stop(self, *, timeout: float = 30.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._stopped.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wake(self, name: str, *, delay: float = 0.0) -> None:
        due = time.monotonic() + delay
        with self._cond:
            if name in self._busy:
                if delay == 0.0:
                    self._again.add(name)
                return
            if name in self._due and self._due[name] <= due:
                return
            self._due[name] = due
            heapq.heappush(self._heap, (due, name))
            self._cond.notify()

    def _next(self) -> str | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
                    heapq.heappop(self._heap)  # superseded entry
                if self._heap and self._heap[0][0] <= now:
                    _, name = heapq.heappop(self._heap)
                    del self._due[name]
                    self._busy.add(name)
                    return name
                self._cond.wait(timeout=(self._heap[0][0] - now) if self._heap else 1.0)
            return None

    def _work(self) -> None:
        while (name := self._next()) is not None:
            delay = self._run(name)
            with self._cond:
                self._busy.discard(name)
                again = name in self._again
                self._again.discard(name)
            if again:
                self.wake(name)
            elif delay is not None:
                self.wake(name, delay=delay)

    def _run(self, name: str) -> float | None:
        try:
            delay = self._handler(name)
            self._failures.pop(name, None)
            return delay
        except Exception as exc:  # a bug or an unexpected outage: back off and try again, a few times
            count = self._failures.get(name, 0) + 1
            self._failures[name] = count
            log.exception("reconciling %s failed (attempt %d of %d)", name, count, self._max_attempts)
            if count < self._max_attempts or self._give_up is None:
                return min(MAX_BACKOFF, self._first_backoff * 2.0 ** (count - 1))
            self._failures.pop(name, None)
            try:
                self._give_up(name, f"{type(exc).__name__}: {exc}")
            except Exception:  # the store itself may be the outage: the next resync tries again
                log.exception("ending the operation of %s failed", name)
                return None
            return 0.0  # look again: the failed status has its own plan

    def _resync(self) -> None:
        while not self._stopped.wait(self._resync_interval):
            try:
                for name in self._names():
                    self.wake(name)
            except Exception:
                log.exception("resync failed")
