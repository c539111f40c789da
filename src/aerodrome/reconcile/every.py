"""A background loop: call a function every `interval` seconds on a thread of its own until stopped,
logging (not raising) what it raises. The control plane's periodic work runs on these: alarm
evaluation, metric collection, log shipping."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Every:
    def __init__(self, interval: float, work: Callable[[], object], *, name: str, first: bool = False):
        """`first`: also call `work` once right at start."""
        self._interval = interval
        self._work = work
        self._first = first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def _loop(self) -> None:
        if self._first:
            self._call()
        while not self._stop.wait(self._interval):
            self._call()

    def _call(self) -> None:
        try:
            self._work()
        except Exception:
            log.exception("%s failed", self._thread.name)
