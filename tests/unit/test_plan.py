import pytest

from aerodrome.domain.plan import Situation, Step, plan
from aerodrome.domain.status import Status


def situation(status, *, generation=1, applied=0, ensured=None, running=False, healthy=False,
              waited=0.0, timeout=300.0):
    return Situation(status=status, generation=generation, applied_generation=applied, ensured=ensured,
                     running=running, healthy=healthy, waited=waited, health_timeout=timeout)


def test_creating_prepares_syncs_and_starts_first():
    assert plan(situation(Status.CREATING)) == [Step.PREPARE, Step.START_SYNC, Step.ENSURE_DESIRED, Step.WAIT]


def test_creating_waits_until_healthy_then_succeeds():
    started = situation(Status.CREATING, ensured=("desired", 1), running=True)
    assert plan(started) == [Step.WAIT]
    assert plan(situation(Status.CREATING, ensured=("desired", 1), running=True, healthy=True)) == [Step.SUCCEED]


def test_creating_fails_after_health_timeout():
    late = situation(Status.CREATING, ensured=("desired", 1), running=True, waited=301)
    assert plan(late) == [Step.FAIL_CREATE]


def test_update_of_a_new_generation_ensures_again_and_rolls_back_on_timeout():
    assert plan(situation(Status.UPDATING, generation=2, applied=1, ensured=("applied", 1), running=True)) == [
        Step.PREPARE, Step.START_SYNC, Step.ENSURE_DESIRED, Step.WAIT]
    late = situation(Status.UPDATING, generation=2, applied=1, ensured=("desired", 2), waited=400)
    assert plan(late) == [Step.ROLL_BACK]


def test_rolling_back_runs_the_applied_spec_and_ends_update_failed():
    assert plan(situation(Status.ROLLING_BACK, generation=2, applied=1, ensured=("desired", 2))) == [
        Step.START_SYNC, Step.ENSURE_APPLIED, Step.WAIT]
    back = situation(Status.ROLLING_BACK, generation=2, applied=1, ensured=("applied", 1), healthy=True,
                     running=True)
    assert plan(back) == [Step.ROLLED_BACK]
    failed = situation(Status.ROLLING_BACK, generation=2, applied=1, ensured=("applied", 1), waited=999)
    assert plan(failed) == [Step.ROLLBACK_FAILED]


@pytest.mark.parametrize("status", [Status.AVAILABLE, Status.UPDATE_FAILED, Status.UNAVAILABLE])
def test_settled_environment_is_reattached_after_a_control_plane_restart(status):
    assert plan(situation(status, applied=1, ensured=None)) == [Step.START_SYNC, Step.ENSURE_APPLIED]
    assert plan(situation(status, applied=1, ensured=("applied", 1), running=True, healthy=True)) == []


def test_settled_environment_whose_processes_are_gone_is_restarted():
    assert plan(situation(Status.AVAILABLE, applied=1, ensured=("applied", 1), running=False)) == [
        Step.START_SYNC, Step.ENSURE_APPLIED]


def test_deleting_removes_everything():
    assert plan(situation(Status.DELETING, running=True)) == [Step.STOP_SYNC, Step.DELETE]


def test_create_failed_stops_leftover_processes_only_when_running():
    assert plan(situation(Status.CREATE_FAILED, running=True)) == [Step.STOP_SYNC, Step.STOP]
    assert plan(situation(Status.CREATE_FAILED, running=False)) == []


def test_pending_waits_for_endpoints():
    assert plan(situation(Status.PENDING)) == []


def test_a_crash_looping_component_fails_without_waiting_for_the_timeout():
    crashing = Situation(status=Status.UPDATING, generation=2, applied_generation=1, ensured=("desired", 2),
                         running=True, healthy=False, waited=5, health_timeout=300, crashing=True)
    assert plan(crashing) == [Step.ROLL_BACK]


def test_errors_never_repeat_configuration_values():
    from aerodrome.domain.spec import EnvironmentSpec
    from aerodrome.reconcile.reconciler import redact

    spec = EnvironmentSpec(name="x", execution_role_arn="r", source_bucket_arn="b", dag_s3_path="d",
                           airflow_configuration_options={"secrets.backend_kwargs": "hunter2-token"})
    assert redact('Current value: "hunter2-token".', spec) == 'Current value: "***".'


def test_hibernating_waits_for_running_tasks_with_scheduling_stopped():
    busy = Situation(status=Status.HIBERNATING, generation=1, applied_generation=1, ensured=("applied", 1),
                     running=True, healthy=True, waited=5, health_timeout=300, active_tasks=2)
    assert plan(busy) == [Step.STOP_SYNC, Step.QUIESCE, Step.WAIT]


def test_hibernating_stops_everything_once_idle_or_when_forced():
    idle = Situation(status=Status.HIBERNATING, generation=1, applied_generation=1, ensured=("applied", 1),
                     running=True, healthy=True, waited=5, health_timeout=300, active_tasks=0)
    assert plan(idle) == [Step.STOP_SYNC, Step.STOP, Step.HIBERNATED]
    forced = Situation(status=Status.HIBERNATING, generation=1, applied_generation=1, ensured=("applied", 1),
                       running=True, healthy=True, waited=5, health_timeout=300, active_tasks=3, force_stop=True)
    assert plan(forced) == [Step.STOP_SYNC, Step.STOP, Step.HIBERNATED]


def test_idle_sleep_freezes_instead_of_stopping_and_a_wake_thaws_first():
    from dataclasses import replace

    idle = Situation(status=Status.HIBERNATING, generation=1, applied_generation=1, ensured=("applied", 1),
                     running=True, healthy=True, waited=5, health_timeout=300, idle=True)
    assert plan(idle) == [Step.STOP_SYNC, Step.FREEZE, Step.HIBERNATED]
    asleep = replace(idle, status=Status.HIBERNATED, ensured=None, healthy=False, frozen=True)
    assert plan(asleep) == []  # frozen processes stay as they are
    # a person's hibernation of an asleep environment (no longer idle), or a deep sleep: stop them
    assert plan(replace(asleep, idle=False)) == [Step.STOP_SYNC, Step.STOP]
    # a wake thaws, then converges as a resume does (which re-attaches to the thawed processes)
    assert plan(replace(asleep, status=Status.RESUMING)) == [
        Step.THAW, Step.PREPARE, Step.START_SYNC, Step.ENSURE_APPLIED, Step.WAIT]
    # whatever else finds frozen processes thaws them first; a delete stops them as they are
    assert plan(replace(asleep, status=Status.AVAILABLE))[:1] == [Step.THAW]
    assert plan(replace(asleep, status=Status.DELETING)) == [Step.STOP_SYNC, Step.DELETE]


def test_hibernated_keeps_processes_stopped():
    assert plan(situation(Status.HIBERNATED, applied=1)) == []
    assert plan(situation(Status.HIBERNATED, applied=1, running=True)) == [Step.STOP_SYNC, Step.STOP]


def test_resuming_starts_the_applied_spec_and_reports_available_or_unavailable():
    assert plan(situation(Status.RESUMING, applied=1)) == [Step.PREPARE, Step.START_SYNC, Step.ENSURE_APPLIED,
                                                          Step.WAIT]
    up = situation(Status.RESUMING, applied=1, ensured=("applied", 1), running=True, healthy=True)
    assert plan(up) == [Step.RESUMED]
    late = situation(Status.RESUMING, applied=1, ensured=("applied", 1), running=True, waited=301)
    assert plan(late) == [Step.RESUME_FAILED]


def change(status, stage, *, generation=2, applied=1, **fields):
    from aerodrome.domain.plan import VersionChange

    extra = {k: fields.pop(k) for k in ("ensured", "running", "healthy", "waited") if k in fields}
    return Situation(status=status, generation=generation, applied_generation=applied, health_timeout=300.0,
                     ensured=extra.get("ensured"), running=extra.get("running", False),
                     healthy=extra.get("healthy", False), waited=extra.get("waited", 0.0),
                     version_change=VersionChange(stage=stage, **fields))


def test_version_change_preflights_drains_stops_and_snapshots():
    from aerodrome.domain.plan import Stage

    assert plan(change(Status.CREATING_SNAPSHOT, Stage.ACCEPTED, running=True)) == [Step.PREPARE, Step.PREFLIGHTED]
    busy = change(Status.CREATING_SNAPSHOT, Stage.PREFLIGHTED, running=True, active_tasks=2)
    assert plan(busy) == [Step.STOP_SYNC, Step.QUIESCE, Step.WAIT]
    forced = change(Status.CREATING_SNAPSHOT, Stage.PREFLIGHTED, running=True, active_tasks=2, forced=True)
    assert plan(forced) == [Step.STOP_SYNC, Step.STOP, Step.DUMP]
    assert plan(change(Status.CREATING_SNAPSHOT, Stage.PREFLIGHTED, running=True)) == [
        Step.STOP_SYNC, Step.STOP, Step.DUMP]


def test_version_change_moves_the_schema_then_starts_the_new_version():
    from aerodrome.domain.plan import Stage

    assert plan(change(Status.UPDATING, Stage.DUMPED)) == [Step.CHANGE_SCHEMA]
    assert plan(change(Status.UPDATING, Stage.MIGRATED, ensured=("applied", 1))) == [
        Step.START_SYNC, Step.ENSURE_DESIRED, Step.WAIT]
    started = {"ensured": ("desired", 2), "running": True}
    assert plan(change(Status.UPDATING, Stage.MIGRATED, healthy=True, **started)) == [Step.SUCCEED]
    assert plan(change(Status.UPDATING, Stage.MIGRATED, healthy=True, parse_pending=True, **started)) == [Step.WAIT]
    assert plan(change(Status.UPDATING, Stage.MIGRATED, healthy=True, parse_pending=True, waited=301,
                       **started)) == [Step.SUCCEED]
    assert plan(change(Status.UPDATING, Stage.MIGRATED, healthy=True, new_import_errors=True, **started)) == [
        Step.CHECK_DAGS]
    assert plan(change(Status.UPDATING, Stage.MIGRATED, new_import_errors=True, **started)) == [Step.CHECK_DAGS]
    assert plan(change(Status.UPDATING, Stage.MIGRATED, waited=301, **started)) == [Step.ROLL_BACK]


def test_version_change_rolls_back_by_restoring_the_snapshot_first():
    from aerodrome.domain.plan import Stage

    for stage in (Stage.DUMPED, Stage.MIGRATED):
        assert plan(change(Status.ROLLING_BACK, stage, running=True)) == [Step.STOP_SYNC, Step.STOP, Step.RESTORE]
    assert plan(change(Status.ROLLING_BACK, Stage.RESTORED)) == [Step.START_SYNC, Step.ENSURE_APPLIED, Step.WAIT]
    assert plan(change(Status.ROLLING_BACK, Stage.PREFLIGHTED)) == [Step.START_SYNC, Step.ENSURE_APPLIED, Step.WAIT]
    back = change(Status.ROLLING_BACK, Stage.RESTORED, ensured=("applied", 1), running=True, healthy=True)
    assert plan(back) == [Step.ROLLED_BACK]
