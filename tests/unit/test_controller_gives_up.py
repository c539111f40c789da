"""An unexpected error is retried a few times, then the operation ends in its failed status with the
error in LastUpdate, through the one door for status changes."""

import threading

import pytest

from aerodrome.domain.status import Status
from aerodrome.reconcile.controller import Controller
from aerodrome.reconcile.reconciler import Reconciler
from aerodrome.store import environments
from tests.unit.test_store import add


class BrokenDriver:
    """Every call fails, as a bug in acting would."""

    def __getattr__(self, name: str):
        def fail(*args, **kwargs):
            raise RuntimeError(f"{name} is broken")
        return fail


def record(store, name="dev"):
    with store.session() as session:
        return environments.get(name, session=session)


def run_until_settled(store, handler, give_up, *, attempts: int) -> list[str]:
    given_up: list[str] = []
    done = threading.Event()

    def recording(name: str, error: str) -> None:
        given_up.append(error)
        give_up(name, error)
        done.set()

    controller = Controller(handler, names=lambda: [], give_up=recording, max_attempts=attempts,
                            first_backoff=0.01, resync_interval=60)
    controller.start()
    try:
        controller.wake("dev")
        assert done.wait(10)
    finally:
        controller.stop(timeout=5)
    return given_up


@pytest.mark.parametrize("status, failed", [(Status.CREATING, Status.CREATE_FAILED),
                                            (Status.DELETING, Status.DELETE_FAILED)])
def test_a_handler_that_always_raises_ends_the_operation_failed(store, status, failed):
    add(store)
    if status != Status.CREATING:
        with store.session() as session:
            environments.transition("dev", status, session=session)
    reconciler = Reconciler(store=store, driver=BrokenDriver(), syncs=None)
    calls = []

    def handler(name: str) -> float | None:
        calls.append(name)
        return reconciler.reconcile(name)

    given_up = run_until_settled(store, handler, reconciler.give_up, attempts=3)
    assert len(calls) >= 3 and given_up == ["RuntimeError: observe is broken"]
    after = record(store)
    assert after.status == failed
    assert after.last_update.status == "FAILED"
    assert "observe is broken" in after.last_update.error_message


def test_an_update_that_keeps_failing_ends_update_failed_with_the_spec_that_ran(store):
    spec = add(store)
    with store.session() as session:
        environments.mark_applied("dev", generation=1, spec=spec, session=session)
        environments.transition("dev", Status.AVAILABLE, session=session)
        environments.set_desired("dev", spec.replace(max_workers=3), last_update=record(store).last_update,
                                 session=session)
        environments.transition("dev", Status.UPDATING, session=session)
    reconciler = Reconciler(store=store, driver=BrokenDriver(), syncs=None)
    run_until_settled(store, reconciler.reconcile, reconciler.give_up, attempts=2)
    after = record(store)
    assert after.status == Status.UPDATE_FAILED and after.spec == spec
    assert after.last_update.error_code == "UPDATING_FAILED"
