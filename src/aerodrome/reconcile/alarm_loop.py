"""Evaluates every CloudWatch alarm every few seconds (10 by default), so a breach reaches ALARM within
one period and a few seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class AlarmLoop:
    def __init__(self, evaluate: Callable[[], int], *, interval: float = 10.0):
        self._evaluate = evaluate
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alarms", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._evaluate()
            except Exception:
                log.exception("evaluating the alarms failed")
