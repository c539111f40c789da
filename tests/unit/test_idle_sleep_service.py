"""Idle sleep against a real store and LifecycleService, on a fake clock and a runtime that only
answers run_facts (the end-to-end test has the real one): sleeping, waking for a run, a request's
wait, and a person's hibernation that never wakes by itself."""

import threading

import pytest

from aerodrome import errors
from aerodrome.domain.idle_sleep import TAG, RunFacts
from aerodrome.domain.status import Status
from aerodrome.services.idle_sleep import IdleSleep
from aerodrome.services.lifecycle import LifecycleService
from aerodrome.store import environments as rows
from tests.support import add, events


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Facts:
    """What the environment's database says (the test moves it)."""

    def __init__(self):
        self.facts = RunFacts(busy=False, next_run=None)
        self.frozen: float | None = None  # when the reconciler froze its processes
        self.deepened = 0

    def run_facts(self, spec, placement):
        return self.facts

    def frozen_since(self, placement):
        return self.frozen

    def deepen(self, placement):
        self.deepened += self.frozen is not None
        was, self.frozen = self.frozen, None
        return was is not None


def available(store, *, tags):
    add(store, "dev")
    with store.session() as session:
        rows.set_tags("dev", tags, session=session)
        rows.transition("dev", Status.AVAILABLE, session=session)


def move(store, to):
    with store.session() as session:
        rows.transition("dev", to, session=session)


def status(store):
    with store.session() as session:
        return rows.get("dev", session=session).status


def world(store, *, tags, default=0.0, timeout=5.0, interval=None):
    available(store, tags=tags)
    clock, runtime = Clock(1_000_000.0), Facts()
    lifecycle = LifecycleService(store=store, wake=lambda name: None)
    sleep = IdleSleep(store=store, runtime=runtime, lifecycle=lifecycle, default_minutes=default, wake_lead=60,
                      wake_timeout=timeout, clock=clock, probe_web=False, interval=interval)
    return sleep, clock, runtime, lifecycle


def phases(store):
    return [(p.get("phase"), p.get("reason")) for _, p in events(store) if p.get("phase") in ("sleep", "wake")]


@pytest.mark.parametrize(("frozen", "lead"), [(True, 15), (False, 60)])
def test_a_light_sleeper_wakes_a_look_before_its_run_a_deep_one_the_lead_before(store, frozen, lead):
    sleep, clock, runtime, _ = world(store, tags={TAG: "10"}, interval=10)  # a look every 10 s: 15 s
    sleep.tick()
    clock.now += 600
    runtime.facts = RunFacts(busy=False, next_run=clock.now + 3600)
    sleep.tick()
    move(store, Status.HIBERNATED)
    runtime.frozen = clock.now if frozen else None
    clock.now = runtime.facts.next_run - lead - 1
    sleep.tick()
    assert status(store) == Status.HIBERNATED
    clock.now += 1
    sleep.tick()
    assert status(store) == Status.RESUMING


def test_a_light_sleep_turns_deep_after_an_hour_with_no_run_coming(store):
    sleep, clock, runtime, _ = world(store, tags={TAG: "10"})
    sleep.tick()
    clock.now += 600
    sleep.tick()
    assert status(store) == Status.HIBERNATING
    move(store, Status.HIBERNATED)
    runtime.frozen = clock.now  # the reconciler froze it
    clock.now += 3599
    sleep.tick()
    assert runtime.deepened == 0
    runtime.facts = RunFacts(busy=False, next_run=clock.now + 1800)  # a run within the hour: stays light
    clock.now += 60
    sleep.tick()
    assert runtime.deepened == 0
    runtime.facts = RunFacts(busy=False, next_run=None)
    sleep.tick()
    sleep.tick()
    assert runtime.deepened == 1 and status(store) == Status.HIBERNATED
    deep = [p for _, p in events(store) if p.get("phase") == "deep"]
    assert len(deep) == 1 and deep[0]["reason"] == "idle" and deep[0]["asleepMinutes"] == 61.0


def test_an_opted_in_environment_sleeps_after_its_quiet_time_and_wakes_before_its_run(store):
    sleep, clock, runtime, _ = world(store, tags={TAG: "10"})
    sleep.tick()  # first look: its quiet starts now
    clock.now += 599
    sleep.tick()
    assert status(store) == Status.AVAILABLE
    clock.now += 1
    runtime.facts = RunFacts(busy=False, next_run=clock.now + 3600)
    sleep.tick()
    assert status(store) == Status.HIBERNATING
    assert phases(store) == [("sleep", "idle")]
    move(store, Status.HIBERNATED)  # the reconciler's part
    clock.now += 3600 - 61
    sleep.tick()
    assert status(store) == Status.HIBERNATED
    clock.now += 1
    sleep.tick()
    assert status(store) == Status.RESUMING
    assert phases(store)[-1][0] == "wake" and phases(store)[-1][1].startswith("scheduled run at ")


@pytest.mark.parametrize(("tags", "default"), [({}, 0.0), ({TAG: "off"}, 1.0)])
def test_it_never_sleeps_without_the_tag_or_the_default_or_with_the_tag_off(store, tags, default):
    sleep, clock, _, _ = world(store, tags=tags, default=default)
    sleep.tick()
    clock.now += 10**6
    sleep.tick()
    assert status(store) == Status.AVAILABLE


def test_a_request_keeps_it_awake_and_wakes_it_and_waits_for_available(store):
    sleep, clock, _, _ = world(store, tags={TAG: "1"}, timeout=30)
    sleep.tick()
    clock.now += 50
    sleep.touch("dev")
    clock.now += 50
    sleep.tick()
    assert status(store) == Status.AVAILABLE  # 50 s since the request
    clock.now += 10
    sleep.tick()
    move(store, Status.HIBERNATED)
    reconciler = threading.Thread(target=lambda: _resume_when_asked(store))
    reconciler.start()
    sleep.ensure_awake("dev", "web request")  # returns once AVAILABLE
    reconciler.join()
    assert status(store) == Status.AVAILABLE
    assert phases(store) == [("sleep", "idle"), ("wake", "web request")]


def _resume_when_asked(store):
    import time

    deadline = time.monotonic() + 20
    while status(store) != Status.RESUMING and time.monotonic() < deadline:
        time.sleep(0.05)
    move(store, Status.AVAILABLE)


def fall_asleep(store, sleep, clock):
    """A minute of quiet (the tag's 1), then the reconciler's HIBERNATED."""
    sleep.tick()
    clock.now += 61
    sleep.tick()
    move(store, Status.HIBERNATED)


def test_a_request_that_waits_too_long_is_told_to_try_again(store):
    sleep, clock, _, _ = world(store, tags={TAG: "1"}, timeout=0.5)
    fall_asleep(store, sleep, clock)
    try:
        sleep.ensure_awake("dev", "InvokeRestApi")
    except errors.Temporary as exc:
        assert "waking from idle sleep" in str(exc)
    else:
        raise AssertionError("no Temporary")
    assert status(store) == Status.RESUMING


def test_a_hibernation_a_person_asked_for_never_wakes_by_itself(store):
    sleep, clock, runtime, lifecycle = world(store, tags={TAG: "1"})
    lifecycle.hibernate("dev")
    move(store, Status.HIBERNATED)
    runtime.facts = RunFacts(busy=False, next_run=clock.now + 1)
    sleep.tick()
    sleep.ensure_awake("dev", "web request")  # not asleep: left to the request
    assert status(store) == Status.HIBERNATED


def test_hibernating_a_sleeping_environment_keeps_it_hibernated(store):
    sleep, clock, runtime, lifecycle = world(store, tags={TAG: "1"})
    fall_asleep(store, sleep, clock)
    lifecycle.hibernate("dev")
    runtime.facts = RunFacts(busy=False, next_run=clock.now + 1)
    sleep.tick()
    assert status(store) == Status.HIBERNATED


def test_work_that_keeps_it_busy_keeps_it_awake(store):
    sleep, clock, runtime, _ = world(store, tags={TAG: "1"})
    runtime.facts = RunFacts(busy=True, next_run=None)
    sleep.tick()
    clock.now += 10**4
    sleep.tick()
    assert status(store) == Status.AVAILABLE
