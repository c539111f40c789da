"""The triggerer on demand: an environment's triggerer runs while its database holds triggers.

Airflow's triggerer runs deferred tasks' triggers (and Airflow 3's asset watchers and deadline
callbacks, which are triggers too). With none, it still wakes every second, heartbeats and holds a
whole Airflow process's memory. So by default it starts only once the environment's `trigger` table
has a row (looked at every POLL seconds, over the connection `queries.Queries` keeps) and stops LINGER
seconds after the last one went. A first deferral after a quiet spell waits for the triggerer's start
(a few seconds); its TriggererHeartbeat metric is absent while it is stopped. The option
`aerodrome.triggerer_on_demand` = False in AirflowConfigurationOptions keeps it always running, as on
MWAA (where it runs beside the scheduler).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import freezing
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor

log = logging.getLogger(__name__)

OPTION = "aerodrome.triggerer_on_demand"
POLL = 2.0
LINGER = 300.0


def on_demand(spec: EnvironmentSpec) -> bool:
    return spec.airflow_configuration_options.get(OPTION, "True").strip().lower() not in ("false", "0", "no", "off")


@dataclass
class _Offered:
    placement: Placement
    process: ProcessSpec
    needed_at: float  # when triggers were last seen (or the triggerer last started)


class OnDemandTriggerers:
    def __init__(self, supervisor: Supervisor, *, has_triggers: Callable[[Placement], bool],
                 lock_of: Callable[[str], threading.Lock], poll: float = POLL, linger: float = LINGER,
                 clock: Callable[[], float] = time.monotonic):
        """`has_triggers(placement)`: whether the environment's database holds a trigger;
        `lock_of(env_id)`: the lock its converges hold (a look skips an environment being converged)."""
        self._supervisor = supervisor
        self._has_triggers = has_triggers
        self._lock_of = lock_of
        self._linger = linger
        self._clock = clock
        self._offered: dict[str, _Offered] = {}
        self._starting = threading.Lock()  # a start and a forget never cross (a stop follows a forget)
        self._stop = threading.Event()
        self._poll = poll
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="triggerers", daemon=True)
        self._thread.start()

    def offer(self, placement: Placement, process: ProcessSpec) -> bool:
        """The triggerer an environment's converge would run: a running one with another configuration
        is replaced now, a stopped one starts when triggers appear. True if (re)started."""
        self._offered[placement.env_id] = _Offered(placement, process, self._clock())
        if self._supervisor.state(process.name)[0]:
            return self._supervisor.ensure(process)
        return False

    def forget(self, env_id: str) -> None:
        """The environment stops: its triggerer is not to start again."""
        with self._starting:
            self._offered.pop(env_id, None)

    def tick(self) -> None:
        """Start the triggerer of each environment with triggers; stop one idle for LINGER."""
        for env_id, offered in list(self._offered.items()):
            lock = self._lock_of(env_id)
            if not lock.acquire(blocking=False):
                continue  # being converged (or frozen or stopped): look next time
            try:
                if freezing.since(offered.placement) is None:
                    self._look(env_id, offered)
            except errors.Temporary as exc:
                log.debug("%s: triggers not known: %s", env_id, exc)
            except Exception:
                log.exception("%s: tending the triggerer failed", env_id)
            finally:
                lock.release()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _look(self, env_id: str, offered: _Offered) -> None:
        name = offered.process.name
        running = self._supervisor.state(name)[0]
        now = self._clock()
        if self._has_triggers(offered.placement):
            offered.needed_at = now
            with self._starting:
                if not running and self._offered.get(env_id) is offered:
                    log.info("%s: a trigger waits; starting the triggerer", name)
                    self._supervisor.ensure(offered.process)
        elif running and now - offered.needed_at >= self._linger:
            log.info("%s: no trigger for %.0f s; stopping the triggerer", name, now - offered.needed_at)
            self._supervisor.stop(name)

    def _loop(self) -> None:
        while not self._stop.wait(self._poll):
            self.tick()
