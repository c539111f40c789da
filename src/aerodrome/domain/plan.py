"""plan(): given what is wanted and what is seen, the steps to take next. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from aerodrome.domain.status import Status

S = Status


class Step(StrEnum):
    PREPARE = "prepare"  # Airflow venv and template database for the version
    START_SYNC = "start_sync"  # bucket -> DAG folder, once now and then continuously
    ENSURE_DESIRED = "ensure_desired"  # run the desired spec
    ENSURE_APPLIED = "ensure_applied"  # run the last spec that worked (re-attach or restart)
    WAIT = "wait"  # look again soon
    SUCCEED = "succeed"  # -> AVAILABLE, desired becomes applied
    FAIL_CREATE = "fail_create"  # -> CREATE_FAILED
    ROLL_BACK = "roll_back"  # -> ROLLING_BACK
    ROLLED_BACK = "rolled_back"  # -> UPDATE_FAILED, previous spec serving
    ROLLBACK_FAILED = "rollback_failed"  # -> UNAVAILABLE
    STOP = "stop"  # stop processes, keep data
    STOP_SYNC = "stop_sync"
    DELETE = "delete"  # remove everything, then forget the environment
    QUIESCE = "quiesce"  # stop scheduling new tasks; workers finish the running ones
    HIBERNATED = "hibernated"  # -> HIBERNATED (every process stopped, database and files kept)
    FREEZE = "freeze"  # idle sleep: stop every process where it stands (no CPU), memory kept
    THAW = "thaw"  # let frozen processes go on
    RESUMED = "resumed"  # -> AVAILABLE
    RESUME_FAILED = "resume_failed"  # -> UNAVAILABLE
    # an Airflow version change (CREATING_SNAPSHOT -> UPDATING -> AVAILABLE | ROLLING_BACK)
    PREFLIGHTED = "preflighted"  # the new version's venv, template and contents are ready
    DUMP = "dump"  # dump the stopped environment's database, -> UPDATING
    CHANGE_SCHEMA = "change_schema"  # `airflow db migrate` / `db downgrade` to the new version's schema
    CHECK_DAGS = "check_dags"  # fail when the new version reports import errors the old one did not
    RESTORE = "restore"  # put the dump back (rolling back a version change)


class Stage(StrEnum):
    """How far a version change got (kept beside the environment's files)."""

    ACCEPTED = "accepted"
    PREFLIGHTED = "preflighted"
    DUMPED = "dumped"  # the database is dumped; it may be part-way migrated
    MIGRATED = "migrated"  # the database has the new version's schema
    RESTORED = "restored"  # the dump is back in place


@dataclass(frozen=True)
class VersionChange:
    stage: Stage = Stage.ACCEPTED
    forced: bool = False  # WorkerReplacementStrategy=FORCED: stop running tasks instead of draining
    active_tasks: int = 0  # queued or running (observed while draining)
    parse_pending: bool = False  # the new version has not parsed every DAG file yet
    new_import_errors: bool = False  # ... and reports import errors the old one did not


@dataclass(frozen=True)
class Situation:
    status: Status
    generation: int
    applied_generation: int
    # what this control-plane process last ensured for the environment: ("desired"|"applied", generation)
    ensured: tuple[str, int] | None
    running: bool
    healthy: bool
    waited: float  # seconds since that ensure
    health_timeout: float
    crashing: bool = False  # a component keeps exiting: waiting longer will not help
    active_tasks: int = 0  # task instances queued or running (observed while hibernating)
    force_stop: bool = False  # hibernate without waiting for running tasks
    idle: bool = False  # the hibernation is idle sleep's: freeze the processes instead of stopping them
    frozen: bool = False  # the environment's processes are frozen (asleep)
    version_change: VersionChange | None = None  # the desired spec runs another Airflow version


def plan(s: Situation) -> list[Step]:
    if s.version_change is not None and s.status in (S.CREATING_SNAPSHOT, S.UPDATING, S.ROLLING_BACK):
        return _change_version(s, s.version_change)
    return _plan(s)


def _plan(s: Situation) -> list[Step]:
    if s.frozen and s.status not in (S.HIBERNATED, S.DELETING):  # waking (a stop thaws what it stops)
        return [Step.THAW] + _plan(replace(s, frozen=False, ensured=None))
    if s.status == S.DELETING:
        return [Step.STOP_SYNC, Step.DELETE]
    if s.status == S.CREATE_FAILED:
        return [Step.STOP_SYNC, Step.STOP] if s.running else []
    if s.status in (S.CREATING, S.UPDATING, S.CREATING_SNAPSHOT):
        return _converge(s, ("desired", s.generation), Step.ENSURE_DESIRED, Step.SUCCEED,
                         Step.FAIL_CREATE if s.status == S.CREATING else Step.ROLL_BACK,
                         prepare=True)
    if s.status == S.HIBERNATING:
        if s.running and s.active_tasks and not s.force_stop:
            return [Step.STOP_SYNC, Step.QUIESCE, Step.WAIT]
        return [Step.STOP_SYNC, Step.FREEZE if s.idle else Step.STOP, Step.HIBERNATED]
    if s.status == S.HIBERNATED:  # asleep: frozen; hibernated for good (or after a deep sleep): stopped
        return [Step.STOP_SYNC, Step.STOP] if s.running and not (s.frozen and s.idle) else []
    if s.status == S.RESUMING:
        return _converge(s, ("applied", s.applied_generation), Step.ENSURE_APPLIED, Step.RESUMED,
                         Step.RESUME_FAILED, prepare=True)
    if s.status == S.ROLLING_BACK:
        return _converge(s, ("applied", s.applied_generation), Step.ENSURE_APPLIED, Step.ROLLED_BACK,
                         Step.ROLLBACK_FAILED, prepare=False)
    settled = (S.AVAILABLE, S.UPDATE_FAILED, S.UNAVAILABLE, S.MAINTENANCE)
    if s.status in settled and (s.ensured != ("applied", s.applied_generation) or not s.running):
        return [Step.START_SYNC, Step.ENSURE_APPLIED]
    return []


def _converge(s: Situation, target: tuple[str, int], ensure: Step, done: Step, failed: Step, *,
              prepare: bool) -> list[Step]:
    if s.ensured != target:
        return ([Step.PREPARE] if prepare else []) + [Step.START_SYNC, ensure, Step.WAIT]
    if s.healthy:
        return [done]
    if s.crashing or s.waited > s.health_timeout:
        return [failed]
    return [Step.WAIT]


def _change_version(s: Situation, change: VersionChange) -> list[Step]:
    """Pre-flight, drain, stop, dump, change the schema, start the new version; roll back by restoring."""
    if s.status == S.CREATING_SNAPSHOT:
        if change.stage == Stage.ACCEPTED:
            return [Step.PREPARE, Step.PREFLIGHTED]
        if s.running and change.active_tasks and not change.forced:
            return [Step.STOP_SYNC, Step.QUIESCE, Step.WAIT]
        return [Step.STOP_SYNC, Step.STOP, Step.DUMP]
    if s.status == S.ROLLING_BACK:
        if change.stage in (Stage.DUMPED, Stage.MIGRATED):
            return [Step.STOP_SYNC, Step.STOP, Step.RESTORE]
        return _plan(s)
    if change.stage == Stage.DUMPED:
        return [Step.CHANGE_SCHEMA]
    if change.new_import_errors and s.ensured == ("desired", s.generation):
        return [Step.CHECK_DAGS]  # as soon as the new DAG processor reports them, healthy or not
    steps: list[Step] = [step for step in _plan(s) if step != Step.PREPARE]  # done before the dump
    if steps == [Step.SUCCEED] and change.parse_pending and s.waited <= s.health_timeout:
        return [Step.WAIT]
    return steps
