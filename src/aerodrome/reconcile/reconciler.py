"""observe -> plan -> act for one environment. Status changes only through store.transition()."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aerodrome import errors
from aerodrome.domain.environment import LastUpdate
from aerodrome.domain.placement import Placement
from aerodrome.domain.plan import Situation, Step, plan
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import GIVE_UP, Status
from aerodrome.reconcile import version_change
from aerodrome.runtimes.base import Observed, RuntimeDriver
from aerodrome.store import environments, hibernation
from aerodrome.store.db import Store

log = logging.getLogger(__name__)

WAIT_DELAY = 1.0
SETTLED_DELAY = None
HEALTH_TIMEOUT = 300.0

Progress = Callable[[str, str], None]  # (environment name, line)


class SyncLoops(Protocol):
    """What the reconciler needs from bundle sync (bundles.sync adapts to it)."""

    def start(self, name: str, spec: EnvironmentSpec, placement: Placement) -> None: ...

    def stop(self, name: str) -> None: ...

    def fetch_bundles(self, spec: EnvironmentSpec, kinds: set[str]) -> dict[str, bytes | None]: ...


@dataclass
class _Ensured:
    target: tuple[str, int]
    at: float


class Reconciler:
    def __init__(self, *, store: Store, driver: RuntimeDriver, syncs: SyncLoops,
                 progress: Progress | None = None, health_timeout: float = HEALTH_TIMEOUT):
        self._store = store
        self._driver = driver
        self._syncs = syncs
        self._progress = progress or (lambda name, line: log.info("%s: %s", name, line))
        self._health_timeout = health_timeout
        self._ensured: dict[str, _Ensured] = {}
        self._drain_counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._version_changes = version_change.VersionChanges(store=store, driver=driver, progress=self._progress)

    def names(self) -> list[str]:
        with self._store.session() as session:
            return [r.name for r in environments.all_records(session=session)]

    def reconcile(self, name: str) -> float | None:
        try:
            with self._store.session() as session:
                record = environments.get(name, session=session)
                force_stop = hibernation.forced(name, session=session)
                idle = hibernation.reason(name, session=session) == hibernation.IDLE
        except errors.NotFound:
            self._ensured.pop(name, None)
            return SETTLED_DELAY
        placement = record.placement
        running_spec = self._running_spec(record)
        observed = self._driver.observe(running_spec, placement)
        ensured = self._ensured.get(name)
        situation = Situation(
            status=record.status, generation=record.generation,
            applied_generation=record.applied_generation,
            ensured=ensured.target if ensured else None, running=observed.running,
            healthy=observed.healthy, waited=(time.monotonic() - ensured.at) if ensured else 0.0,
            health_timeout=self._health_timeout, crashing=observed.crashing(), force_stop=force_stop,
            idle=idle, frozen=observed.frozen,
            active_tasks=self._draining(record, placement) if record.status == Status.HIBERNATING
            and observed.running and not force_stop else 0,
            version_change=self._version_changes.observe(record, placement, observed))
        steps = plan(situation)
        if steps:
            log.debug("%s %s: %s", name, record.status.value, [s.value for s in steps])
        return self._act(record, placement, observed, steps)

    def give_up(self, name: str, error: str) -> None:
        """Acting on `name` kept failing unexpectedly: end its operation in the failed status, with
        the error in LastUpdate (never stuck in UPDATING). Nothing when no operation is under way."""
        with self._store.session() as session:
            record = environments.get(name, session=session)
        to = GIVE_UP.get(record.status)
        if to is None:
            return
        message = redact(f"Aerodrome could not act on the environment: {error}", record.spec)
        if to == Status.UPDATE_FAILED and record.applied_spec is not None:
            with self._store.session() as session:  # as after a rollback: the spec that ran is desired again
                environments.restore_desired(name, record.applied_spec, session=session)
                record = environments.get(name, session=session)
        self._ensured.pop(name, None)
        log.error("%s: giving up: %s", name, message)
        self._move(record, to, error=message)

    # --- acting ------------------------------------------------------------------------------
    def _act(self, record: environments.EnvironmentRecord, placement: Placement, observed: Observed,
             steps: list[Step]) -> float | None:
        name = record.name
        for step in steps:
            try:
                delay = self._do(step, record, placement, observed)
            except errors.Temporary as exc:
                self._progress(name, str(exc))
                return exc.delay
            except errors.Permanent as exc:
                return self._fail(record, str(exc))
            if delay is not None:
                return delay
        return SETTLED_DELAY

    def _do(self, step: Step, record: environments.EnvironmentRecord, placement: Placement,
            observed: Observed) -> float | None:
        name, progress = record.name, (lambda line: self._progress(record.name, line))
        if step in version_change.STEPS:
            return self._version_changes.do(step, record, placement)
        match step:
            case Step.PREPARE:
                self._driver.prepare(record.spec, progress=progress)
                try:  # the pre-flight: a broken bundle fails here, before any process is touched
                    self._stage(record.spec, placement, progress)
                except errors.Permanent as exc:
                    return self._preflight_failed(record, str(exc))
            case Step.START_SYNC:
                self._syncs.start(name, self._running_spec(record), placement)
            case Step.ENSURE_DESIRED:
                self._driver.ensure(record.spec, placement, progress=progress)
                self._ensured[name] = _Ensured(("desired", record.generation), time.monotonic())
            case Step.ENSURE_APPLIED:
                spec = record.applied_spec or record.spec
                self._stage(spec, placement, progress)
                if record.status == Status.RESUMING and not observed.running and not self._woken(name):
                    progress("recomputing each DAG's next run from now (catchup decides what was missed)")
                    self._driver.refresh_next_runs(spec, placement)
                self._driver.ensure(spec, placement, progress=progress)
                self._ensured[name] = _Ensured(("applied", record.applied_generation), time.monotonic())
            case Step.WAIT:
                return WAIT_DELAY
            case Step.SUCCEED:
                self._succeed(record)
            case Step.FAIL_CREATE | Step.ROLL_BACK:
                return self._fail(record, observed.detail or "Airflow did not become healthy in time.")
            case Step.ROLLED_BACK:
                self._finish_rollback(record)
            case Step.ROLLBACK_FAILED:
                self._move(record, Status.UNAVAILABLE)
            case Step.QUIESCE:
                self._driver.quiesce(self._running_spec(record), placement)
            case Step.HIBERNATED:
                self._drain_counts.pop(name, None)
                self._move(record, Status.HIBERNATED)
            case Step.RESUMED:
                self._move(record, Status.AVAILABLE)
            case Step.RESUME_FAILED:
                self._move(record, Status.UNAVAILABLE,
                           error=redact(observed.detail or "Airflow did not become healthy in time.", record.spec))
            case Step.STOP:
                self._driver.stop(placement)
                self._ensured.pop(name, None)
            case Step.FREEZE:
                self._driver.freeze(placement)
                self._ensured.pop(name, None)
            case Step.THAW:
                self._driver.thaw(placement)
                self._ensured.pop(name, None)  # a resume converges again, re-attaching to what runs
            case Step.STOP_SYNC:
                self._syncs.stop(name)
            case Step.DELETE:
                self._delete(record, placement)
        return None

    def _stage(self, spec: EnvironmentSpec, placement: Placement, progress: Callable[[str], None]) -> None:
        self._driver.stage(spec, placement, lambda kinds: self._syncs.fetch_bundles(spec, kinds), progress=progress)

    def _preflight_failed(self, record: environments.EnvironmentRecord, message: str) -> float:
        """A broken bundle: an update ends UPDATE_FAILED at once, the running spec untouched."""
        if record.status not in (Status.UPDATING, Status.CREATING_SNAPSHOT) or record.applied_spec is None:
            return self._fail(record, message)
        message = redact(message, record.spec)
        last = record.last_update
        failed = LastUpdate(status="FAILED", created_at=last.created_at, source=last.source,
                            error_code="UPDATE_FAILED", error_message=message,
                            worker_replacement_strategy=last.worker_replacement_strategy)
        with self._store.session() as session:
            environments.restore_desired(record.name, record.applied_spec, session=session)
            environments.transition(record.name, Status.UPDATE_FAILED, session=session, expected=record.status,
                            last_update=failed)
        log.warning("%s: %s", record.name, message)
        self._progress(record.name, f"{record.status.value} -> UPDATE_FAILED: {message}")
        return 0.0
    def _draining(self, record: environments.EnvironmentRecord, placement: Placement) -> int:
        """Queued + running tasks while hibernating; a change in the count is a hibernate event."""
        count = self._driver.active_tasks(placement)
        if self._drain_counts.get(record.name) != count:
            self._drain_counts[record.name] = count
            with self._store.session() as session:
                environments.append_event(record.name, "hibernate", {"phase": "draining", "activeTasks": count,
                                                             "arn": record.arn}, session=session)
            self._progress(record.name, f"draining: {count} task(s) queued or running")
        return count

    def _succeed(self, record: environments.EnvironmentRecord) -> None:
        with self._store.session() as session:
            environments.mark_applied(record.name, generation=record.generation, spec=record.spec, session=session)
            environments.transition(record.name, Status.AVAILABLE, session=session, expected=record.status,
                            generation=record.generation, last_update=_done(record.last_update))
        self._ensured[record.name] = _Ensured(("applied", record.generation), time.monotonic())
        self._progress(record.name, f"{record.status.value} -> AVAILABLE")

    def _fail(self, record: environments.EnvironmentRecord, message: str) -> float:
        """Creating fails the create, deleting the delete; anything else rolls back to the last spec
        that worked."""
        message = redact(message, record.spec)
        rolling_back = record.status in (Status.UPDATING, Status.CREATING_SNAPSHOT) and record.applied_spec
        if record.status == Status.ROLLING_BACK:
            return self._move(record, Status.UNAVAILABLE, error=message)
        if record.status == Status.DELETING:
            return self._move(record, Status.DELETE_FAILED, error=message)
        to = Status.ROLLING_BACK if rolling_back else (
            Status.CREATE_FAILED if record.status == Status.CREATING else Status.UPDATE_FAILED)
        log.warning("%s: %s", record.name, message)
        self._ensured.pop(record.name, None)
        return self._move(record, to, error=message)

    def _move(self, record: environments.EnvironmentRecord, to: Status, *, error: str | None = None) -> float:
        last = record.last_update
        if error is not None:
            last = LastUpdate(status="FAILED", created_at=last.created_at, source=last.source,
                              error_code=f"{record.status.value}_FAILED", error_message=error,
                              worker_replacement_strategy=last.worker_replacement_strategy)
        with self._store.session() as session:
            environments.transition(record.name, to, session=session, expected=record.status, last_update=last)
        self._progress(record.name, f"{record.status.value} -> {to.value}" + (f": {error}" if error else ""))
        return 0.0

    def _finish_rollback(self, record: environments.EnvironmentRecord) -> None:
        with self._store.session() as session:
            environments.restore_desired(record.name, record.applied_spec or record.spec, session=session)
            environments.transition(record.name, Status.UPDATE_FAILED, session=session, expected=record.status)
        current = self._ensured.get(record.name)
        if current:
            self._ensured[record.name] = _Ensured(("applied", record.generation + 1), current.at)
        self._progress(record.name, "rolled back; the previous configuration is serving")

    def _delete(self, record: environments.EnvironmentRecord, placement: Placement) -> None:
        self._progress(record.name, "deleting processes, database, broker namespace and files")
        self._driver.delete(placement)
        with self._store.session() as session:
            environments.transition(record.name, Status.DELETED, session=session, expected=Status.DELETING,
                            last_update=_done(record.last_update))
            environments.remove(record.name, session=session)
        self._ensured.pop(record.name, None)
        self._progress(record.name, "deleted")

    def _woken(self, name: str) -> bool:
        """Whether `name` resumes from idle sleep, which woke it before any run was due."""
        with self._store.session() as session:
            return hibernation.reason(name, session=session) == hibernation.WOKEN

    @staticmethod
    def _running_spec(record: environments.EnvironmentRecord) -> EnvironmentSpec:
        if record.status in (Status.CREATING, Status.UPDATING):
            return record.spec
        return record.applied_spec or record.spec


def _done(last: LastUpdate) -> LastUpdate:
    return LastUpdate(status="SUCCESS", created_at=last.created_at, source=last.source,
                      worker_replacement_strategy=last.worker_replacement_strategy)


def redact(message: str, spec: EnvironmentSpec) -> str:
    """Configuration values may be secrets: never repeat them in errors, events or logs."""
    for value in sorted(spec.airflow_configuration_options.values(), key=len, reverse=True):
        if len(value) >= 4:
            message = message.replace(value, "***")
    return message
