"""The controller's resync looks at every environment once per interval, no more: a wake (which
notifies the workers) must not start the resync again early, or settled environments are looked at
over and over (each look is a health request to their web servers)."""

import collections
import threading
import time

from aerodrome.reconcile.controller import Controller


def test_settled_environments_are_looked_at_once_per_resync():
    looks: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def handler(name: str) -> None:
        with lock:
            looks[name] += 1
        time.sleep(0.02)  # a look takes a moment (an HTTP health check)
        return None  # settled

    names = [f"env{i}" for i in range(6)]
    controller = Controller(handler, names=lambda: names, workers=2, resync_interval=0.5)
    controller.start()
    try:
        for name in names:
            controller.wake(name)
        time.sleep(2.2)  # the first looks and four resyncs
    finally:
        controller.stop()
    assert set(looks) == set(names)
    assert max(looks.values()) <= 6, looks  # 1 + 4 resyncs (+1 for timing); woken without end it is dozens
