"""Cron parsing, next/latest fire times and which schedules are due (pure)."""

import datetime

import pytest

from aerodrome import errors
from aerodrome.domain.schedules import Schedule, ScheduleState, iso, latest_fire, next_fire, parse, plan


def at(text: str) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()


def test_parse_accepts_standard_cron_and_normalizes_spaces():
    assert parse("hibernate", " 0  19 * * 1-5 ") == Schedule("hibernate", "0 19 * * 1-5", "UTC", None)
    assert parse("snapshot", "*/15 * * * *", keep=3).keep == 3
    assert parse("resume", "0 7 * * *", timezone="Europe/Berlin").timezone == "Europe/Berlin"


@pytest.mark.parametrize(("kind", "cron", "extra", "message"), [
    ("hibernate", "0 19 * *", {}, "'0 19 * *' has 4 field(s); a cron expression has 5: minute hour"),
    ("hibernate", "0 0 0 * * *", {}, "has 6 field(s)"),
    ("hibernate", "", {}, "has 0 field(s)"),
    ("resume", "61 * * * *", {}, "The resume schedule '61 * * * *' is not a valid cron expression: Bad minute."),
    ("resume", "0 7 * * 8", {}, "Bad day-of-week"),
    ("resume", "@daily", {}, "has 1 field(s)"),
    ("resume", "0 0 30 2 *", {}, "Bad day-of-month"),
    ("reboot", "* * * * *", {}, "'reboot' is not a schedule kind; use one of hibernate, resume, snapshot."),
    ("snapshot", "0 * * * *", {}, "A snapshot schedule needs Keep"),
    ("snapshot", "0 * * * *", {"keep": 0}, "Keep must be a whole number from 1 to 1000, not 0."),
    ("snapshot", "0 * * * *", {"keep": True}, "Keep must be a whole number"),
    ("hibernate", "0 * * * *", {"keep": 2}, "Keep applies to snapshot schedules only"),
    ("hibernate", "0 * * * *", {"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone"),
])
def test_parse_rejects_with_a_clear_message(kind, cron, extra, message):
    with pytest.raises(errors.Invalid) as raised:
        parse(kind, cron, **extra)
    assert message in str(raised.value)


def test_next_and_latest_fire_times():
    weekdays = parse("hibernate", "0 19 * * 1-5")
    friday_noon = at("2026-11-27T12:00:00")
    assert iso(next_fire(weekdays, friday_noon)) == "2026-11-27T19:00:00Z"
    assert iso(next_fire(weekdays, at("2026-11-27T19:00:00"))) == "2026-11-30T19:00:00Z"  # strictly after
    assert iso(latest_fire(weekdays, at("2026-11-29T10:00:00"))) == "2026-11-27T19:00:00Z"  # Sunday
    assert iso(latest_fire(weekdays, at("2026-11-27T19:00:00"))) == "2026-11-27T19:00:00Z"  # at counts
    assert iso(latest_fire(weekdays, at("2026-11-27T19:00:59"))) == "2026-11-27T19:00:00Z"


def test_time_zones_shift_fire_times():
    berlin = parse("resume", "0 7 * * *", timezone="Europe/Berlin")
    assert iso(next_fire(berlin, at("2026-01-10T00:00:00"))) == "2026-01-10T06:00:00Z"  # CET
    assert iso(next_fire(berlin, at("2026-07-10T00:00:00"))) == "2026-07-10T05:00:00Z"  # CEST


def state(kind, cron, *, since, last_fired=None, environment="dev"):
    return ScheduleState(environment, parse(kind, cron, keep=2 if kind == "snapshot" else None), since, last_fired)


def test_plan_fires_the_latest_missed_time_once_and_never_before_the_schedule_was_set():
    hourly = state("snapshot", "0 * * * *", since=at("2026-11-30T08:30:00"))
    assert plan([hourly], at("2026-11-30T08:59:59")) == []
    # down from 08:30 to 11:20: three hours missed, one firing, for the latest (11:00)
    [firing] = plan([hourly], at("2026-11-30T11:20:00"))
    assert iso(firing.due_at) == "2026-11-30T11:00:00Z" and firing.superseded_by is None
    fired = ScheduleState("dev", hourly.schedule, hourly.since, last_fired=firing.due_at)
    assert plan([fired], at("2026-11-30T11:59:00")) == []  # not twice for one due time
    assert [iso(f.due_at) for f in plan([fired], at("2026-11-30T12:00:00"))] == ["2026-11-30T12:00:00Z"]


def test_plan_fires_only_the_later_of_hibernate_and_resume():
    evening = state("hibernate", "0 19 * * *", since=at("2026-11-01T00:00:00"), last_fired=at("2026-11-27T19:00:00"))
    morning = state("resume", "0 7 * * *", since=at("2026-11-01T00:00:00"), last_fired=at("2026-11-27T07:00:00"))
    firings = {f.state.schedule.kind: f for f in plan([evening, morning], at("2026-11-30T09:00:00"))}
    assert firings["resume"].superseded_by is None and iso(firings["resume"].due_at) == "2026-11-30T07:00:00Z"
    assert firings["hibernate"].superseded_by == "resume"
    # other environments and snapshots are not affected
    other = state("hibernate", "0 19 * * *", since=at("2026-11-01T00:00:00"), environment="prod")
    assert all(f.superseded_by is None for f in plan([other, morning], at("2026-11-30T09:00:00")))


def test_plan_breaks_a_tie_in_favour_of_resume():
    both = [state("hibernate", "0 * * * *", since=0.0), state("resume", "0 8 * * *", since=0.0)]
    firings = {f.state.schedule.kind: f for f in plan(both, at("2026-11-30T08:10:00"))}
    assert firings["resume"].superseded_by is None and firings["hibernate"].superseded_by == "resume"
