"""Idle sleep: environments nobody uses hibernate themselves and wake when needed.

`tick()` (every `interval`, from the composition root) puts each AVAILABLE environment that opted in
to sleep when `domain.idle_sleep.decide` says so, and wakes a sleeping one when its next scheduled run
comes near (`wake_due`). The web endpoint, the CLI bridge and InvokeRestApi call `touch` for every
request and `ensure_awake` before one that needs the environment: it wakes it and waits until it is
AVAILABLE. A sleep is a hibernation with the reason `idle` (statuses HIBERNATING, HIBERNATED,
RESUMING) that freezes the processes; after `deep_minutes` asleep (and no run due within them) `tick`
has the runtime stop them (`deepen`). Each sleep, deepening and wake is a `hibernate` event with
`phase` sleep, deep or wake; a hibernation asked for by a person or a schedule never wakes by itself.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

import httpx

from aerodrome import errors
from aerodrome.domain import idle_sleep
from aerodrome.domain.placement import Placement
from aerodrome.domain.status import Status
from aerodrome.runtimes.base import RuntimeDriver
from aerodrome.services.lifecycle import LifecycleService
from aerodrome.store import environments, hibernation
from aerodrome.store.db import Store

log = logging.getLogger(__name__)

LIGHT_WAKE_MARGIN = 5.0  # seconds a thawed environment's scheduler is given before its run is due


class IdleSleep:
    def __init__(self, *, store: Store, runtime: RuntimeDriver, lifecycle: LifecycleService, default_minutes: float,
                 wake_lead: float, wake_timeout: float, deep_minutes: float = 60.0,
                 interval: float | None = None, clock: Callable[[], float] = time.time,
                 probe_web: bool = True):
        """`wake_lead`: how early a deep sleeper wakes for its next run (its processes start); a light
        one (a thaw takes a second) wakes one look (`interval`, when given) and LIGHT_WAKE_MARGIN
        before, if that is sooner. `probe_web`: a request to an environment that wakes returns once its
        web server answers (off: once it is AVAILABLE)."""
        self._store = store
        self._runtime = runtime
        self._lifecycle = lifecycle
        self._default = default_minutes
        self._wake_lead = wake_lead
        self._light_lead = wake_lead if interval is None else min(wake_lead, interval + LIGHT_WAKE_MARGIN)
        self._wake_timeout = wake_timeout
        self._deep = deep_minutes * 60
        self._clock = clock
        self._lock = threading.Lock()
        self._last_request: dict[str, float] = {}
        self._status: dict[str, Status] = {}
        self._for_a_run: set[str] = set()  # woken for a scheduled run: no request, so its quiet goes on
        self._http = httpx.Client(timeout=2, verify=False)  # loopback HTTP: is a waking web server up yet
        self._probe_web = probe_web

    def touch(self, name: str) -> None:
        """A request reached `name` (web, CLI or REST): its quiet time starts again."""
        with self._lock:
            self._last_request[name] = self._clock()

    def ensure_awake(self, name: str, cause: str) -> None:
        """Before a request that needs `name`'s processes: wake it if it sleeps (or is falling asleep) and
        wait until it is AVAILABLE; errors.Temporary when that takes longer than the wake timeout. An
        environment in any other state is left to the request to handle."""
        with self._lock:
            self._last_request[name] = self._clock()
            if self._status.get(name) == Status.AVAILABLE:  # the common case: no store read per request
                return
        deadline = time.monotonic() + self._wake_timeout
        woke = False
        while True:
            with self._store.session() as session:
                record = environments.get(name, session=session)
                asleep = hibernation.reason(name, session=session) == hibernation.IDLE
            status = record.status
            if status == Status.RESUMING and self._serving(record):
                return  # its web server answers: enough for a request (the schedulers follow)
            if status == Status.HIBERNATED and asleep and not woke:
                try:
                    self._lifecycle.resume(name, detail={"reason": cause})
                    log.info("%s: woken by %s", name, cause)
                except errors.Conflict:
                    pass  # another request woke it first
                woke = True
            elif not (status == Status.RESUMING or (status in (Status.HIBERNATING, Status.HIBERNATED) and asleep)):
                with self._lock:
                    self._status[name] = status
                return
            if time.monotonic() > deadline:
                raise errors.Temporary(f"Environment {name} is waking from idle sleep ({status.value}); "
                                       "try again shortly.")
            time.sleep(0.25)
            self.touch(name)

    def close(self) -> None:
        self._http.close()

    def _serving(self, record: environments.EnvironmentRecord) -> bool:
        """Whether the environment's web server (api-server or webserver) answers already."""
        if record.placement is None or not self._probe_web:
            return False
        spec = record.applied_spec or record.spec
        path = "/api/v2/version" if int(spec.airflow_version.split(".")[0]) >= 3 else "/health"
        try:
            return self._http.get(f"http://127.0.0.1:{record.placement.web_port}{path}").status_code < 500
        except httpx.HTTPError:
            return False

    def tick(self) -> None:
        """Look at every environment once: sleep the idle ones, wake the sleeping ones whose run is near."""
        with self._store.session() as session:
            records = environments.all_records(session=session)
            asleep = {r.name for r in records if hibernation.reason(r.name, session=session) == hibernation.IDLE}
        now = self._clock()
        for record in records:
            try:
                self._look(record, asleep=record.name in asleep, now=now)
            except errors.Temporary as exc:
                log.debug("%s: idle sleep skipped a look: %s", record.name, exc)
            except Exception:
                log.exception("%s: idle sleep failed", record.name)
        with self._lock:
            names = {r.name for r in records}
            for gone in set(self._last_request) - names:
                self._last_request.pop(gone, None)
                self._status.pop(gone, None)
                self._for_a_run.discard(gone)

    def _look(self, record: environments.EnvironmentRecord, *, asleep: bool, now: float) -> None:
        name, placement = record.name, record.placement
        with self._lock:
            before = self._status.get(name)
            self._status[name] = record.status
            if record.status == Status.AVAILABLE and before != Status.AVAILABLE and name not in self._for_a_run:
                self._last_request[name] = max(self._last_request.get(name, 0.0), now)  # quiet counts from here
            if record.status == Status.AVAILABLE:
                self._for_a_run.discard(name)
            last_request = self._last_request.get(name, now)
        minutes = idle_sleep.quiet_minutes(record.tags, self._default)
        spec = record.applied_spec or record.spec
        if placement is None:
            return
        if record.status == Status.HIBERNATED and asleep:
            facts = self._runtime.run_facts(spec, placement)
            frozen_since = self._runtime.frozen_since(placement)
            lead = self._wake_lead if frozen_since is None else self._light_lead
            if minutes is None or idle_sleep.wake_due(facts, now=now, wake_lead=lead):
                cause = "idle sleep turned off" if minutes is None else (
                    "work waiting" if facts.busy or facts.watched_assets else
                    f"scheduled run at {_iso(facts.next_run)}")
                with self._lock:
                    if minutes is not None and not (facts.busy or facts.watched_assets):
                        self._for_a_run.add(name)  # once its run is done it may sleep again at once
                self._lifecycle.resume(name, detail={"reason": cause})
                log.info("%s: woken for %s", name, cause)
            elif frozen_since is not None:
                self._deepen(record, placement, facts, now, since=frozen_since)
            return
        if record.status != Status.AVAILABLE or minutes is None:
            return
        facts = self._runtime.run_facts(spec, placement)
        decision = idle_sleep.decide(facts, last_request=last_request, now=now, quiet=minutes * 60,
                                     wake_lead=self._light_lead)  # a sleep begins light
        if decision.sleep:
            with self._lock:
                if self._last_request.get(name, now) > last_request:
                    return  # a request came meanwhile
                self._status[name] = Status.HIBERNATING  # requests from now on wait for the wake
            detail: dict[str, object] = {"idleMinutes": minutes, "why": decision.reason}
            if facts.next_run is not None:
                detail["nextRun"] = _iso(facts.next_run)
            try:
                self._lifecycle.hibernate(name, reason=hibernation.IDLE, detail=detail)
                log.info("%s: asleep (%s)", name, decision.reason)
            except errors.Conflict:
                pass  # it changed meanwhile (an update began); look again next time


    def _deepen(self, record: environments.EnvironmentRecord, placement: Placement, facts: idle_sleep.RunFacts,
                now: float, *, since: float) -> None:
        """A light sleep (frozen `since`) long enough, with no run coming within that time: release the memory."""
        if not idle_sleep.deepen_due(facts, asleep_for=now - since, now=now, deep=self._deep):
            return
        if self._runtime.deepen(placement):
            with self._store.session() as session:
                environments.append_event(record.name, "hibernate", {
                    "phase": "deep", "reason": hibernation.IDLE, "asleepMinutes": round((now - since) / 60, 1),
                    "arn": record.arn}, session=session)
            log.info("%s: asleep deeply (its processes stopped)", record.name)


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    return datetime.datetime.fromtimestamp(when, tz=datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
