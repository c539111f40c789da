"""Firing schedules against a real store and LifecycleService, on a fake clock: one firing per due
time (also after a restart), the latest missed time only, skips recorded as events."""

import datetime
import threading
import time

import pytest

from aerodrome import errors
from aerodrome.domain.schedules import parse
from aerodrome.domain.status import Status
from aerodrome.reconcile.schedule_loop import ScheduleLoop
from aerodrome.services.lifecycle import LifecycleService
from aerodrome.services.schedules import ScheduleService
from aerodrome.store import environments as rows
from tests.support import add, events


def at(text: str) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def available(store, name="dev"):
    add(store, name)
    with store.session() as session:
        rows.transition(name, Status.AVAILABLE, session=session)


def status(store, name="dev"):
    with store.session() as session:
        return rows.get(name, session=session).status


def service(store, clock, **extra):
    return ScheduleService(store=store, lifecycle=LifecycleService(store=store, wake=lambda name: None),
                           clock=clock, **extra)


def test_a_due_time_fires_once_also_across_restarts(store):
    available(store)
    clock = Clock(at("2026-11-30T18:59:30"))
    schedules = service(store, clock)
    shown = schedules.put("dev", [parse("hibernate", "0 19 * * *")])
    assert shown["Schedules"][0]["NextFire"] == "2026-11-30T19:00:00Z" and shown["Schedules"][0]["LastFired"] is None
    assert schedules.tick() == at("2026-11-30T19:00:00") and status(store) == Status.AVAILABLE
    clock.now = at("2026-11-30T19:00:02")
    schedules.tick()
    assert status(store) == Status.HIBERNATING
    schedules.tick()
    restarted = service(store, clock)  # a new control plane on the same store
    restarted.tick()
    scheduled = [p for _, p in events(store) if p.get("schedule")]
    assert scheduled == [{"phase": "scheduled", "schedule": "hibernate", "cron": "0 19 * * *",
                          "dueAt": "2026-11-30T19:00:00Z", "arn": scheduled[0]["arn"]}]
    assert restarted.get("dev")["Schedules"][0]["LastFired"] == "2026-11-30T19:00:00Z"


def test_a_backlog_of_missed_times_fires_once_and_a_disallowed_firing_is_skipped_with_a_reason(store):
    available(store)
    clock = Clock(at("2026-11-30T08:30:00"))
    schedules = service(store, clock)
    schedules.put("dev", [parse("resume", "0 * * * *")])
    clock.now = at("2026-11-30T11:20:00")  # 09:00, 10:00 and 11:00 were missed
    schedules.tick()
    schedules.tick()
    skipped = [p for _, p in events(store) if p.get("schedule")]
    assert len(skipped) == 1 and skipped[0]["phase"] == "skipped" and skipped[0]["dueAt"] == "2026-11-30T11:00:00Z"
    assert skipped[0]["reason"] == "Environment dev is AVAILABLE; only a HIBERNATED environment can resume."
    assert status(store) == Status.AVAILABLE


def test_snapshots_call_the_given_callable_or_are_skipped_when_there_is_none(store):
    available(store)
    clock = Clock(at("2026-11-30T08:59:00"))
    taken = []
    with_snapshots = service(store, clock, snapshot=lambda name, keep: taken.append((name, keep)))
    with_snapshots.put("dev", [parse("snapshot", "0 * * * *", keep=3)])
    clock.now = at("2026-11-30T09:00:00")
    with_snapshots.tick()
    assert taken == [("dev", 3)]
    clock.now = at("2026-11-30T10:00:00")
    service(store, clock).tick()
    assert [p["reason"] for _, p in events(store) if p.get("phase") == "skipped"] == [
        "snapshots are not available in this control plane"]


def test_put_replaces_keeps_unchanged_history_and_rejects_unknown_environments(store):
    available(store)
    clock = Clock(at("2026-11-30T08:59:00"))
    schedules = service(store, clock)
    schedules.put("dev", [parse("hibernate", "0 9 * * *"), parse("resume", "0 7 * * *")])
    clock.now = at("2026-11-30T09:00:00")
    schedules.tick()
    shown = schedules.put("dev", [parse("hibernate", "0 9 * * *")])["Schedules"]
    assert [(s["Kind"], s["LastFired"]) for s in shown] == [("hibernate", "2026-11-30T09:00:00Z")]
    with pytest.raises(errors.Invalid, match="at most once"):
        schedules.put("dev", [parse("resume", "0 7 * * *"), parse("resume", "0 8 * * *")])
    with pytest.raises(errors.NotFound, match="Environment nope not found"):
        schedules.put("nope", [])
    with store.session() as session:
        rows.remove("dev", session=session)
    available(store)  # a new environment of the same name starts without schedules
    assert schedules.get("dev")["Schedules"] == []


def test_the_loop_ticks_at_the_next_fire_time_and_survives_failures():
    calls = []
    ticked = threading.Event()

    def tick():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("store busy")
        if len(calls) >= 3:
            ticked.set()
        return time.time() + 0.05

    loop = ScheduleLoop(tick, poll=0.1)
    loop.start()
    try:
        assert ticked.wait(5)
    finally:
        loop.stop()
    assert len(calls) >= 3
