"""The thread that fires schedules: runs `tick()` at each next fire time, and at least every `poll`
seconds (so schedules set meanwhile are seen; a late look still fires a due time, once)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL = 5.0


class ScheduleLoop:
    def __init__(self, tick: Callable[[], float | None], *, poll: float = POLL,
                 clock: Callable[[], float] = time.time):
        self._tick = tick
        self._poll = poll
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                upcoming = self._tick()
            except Exception:
                log.exception("firing schedules failed; trying again")
                upcoming = None
            wait = self._poll if upcoming is None else min(self._poll, max(upcoming - self._clock(), 0.0) + 0.05)
            self._stop.wait(wait)
