"""The idle sleep rule: when an environment sleeps and when it wakes (pure)."""

from __future__ import annotations

import pytest

from aerodrome.domain import idle_sleep
from aerodrome.domain.idle_sleep import RunFacts

NOW = 1_000_000.0
QUIET = 15 * 60
LEAD = 90


def decide(facts: RunFacts, *, last_request: float = NOW - QUIET) -> idle_sleep.Decision:
    return idle_sleep.decide(facts, last_request=last_request, now=NOW, quiet=QUIET, wake_lead=LEAD)


@pytest.mark.parametrize(("tags", "default", "minutes"), [
    ({}, 0, None),
    ({}, 20, 20),
    ({"aerodrome:idle-sleep": "15"}, 0, 15),
    ({"aerodrome:idle-sleep": "0.5"}, 60, 0.5),
    ({"aerodrome:idle-sleep": "off"}, 20, None),
    ({"aerodrome:idle-sleep": "0"}, 20, None),
    ({"aerodrome:idle-sleep": "soon"}, 20, None),
    ({"aerodrome:idle-sleep": "-3"}, 20, None),
    ({"team": "data"}, 30, 30),
])
def test_the_tag_opts_in_or_out_and_the_plane_gives_the_default(tags, default, minutes):
    assert idle_sleep.quiet_minutes(tags, default) == minutes


def test_quiet_with_nothing_scheduled_sleeps():
    decision = decide(RunFacts(busy=False, next_run=None))
    assert decision.sleep and "no scheduled run" in decision.reason


def test_a_recent_request_keeps_it_awake():
    assert not decide(RunFacts(busy=False, next_run=None), last_request=NOW - QUIET + 1).sleep


def test_running_or_waiting_work_keeps_it_awake():
    assert not decide(RunFacts(busy=True, next_run=None)).sleep


def test_a_watched_asset_keeps_it_awake():
    decision = decide(RunFacts(busy=False, next_run=None, watched_assets=True))
    assert not decision.sleep and "asset" in decision.reason


def test_a_run_due_within_the_quiet_time_keeps_it_awake():
    assert not decide(RunFacts(busy=False, next_run=NOW + QUIET)).sleep
    assert decide(RunFacts(busy=False, next_run=NOW + QUIET + 1)).sleep


def test_a_short_quiet_time_still_leaves_room_to_wake_before_the_run():
    facts = RunFacts(busy=False, next_run=NOW + 2 * LEAD)
    assert not idle_sleep.decide(facts, last_request=0, now=NOW, quiet=30, wake_lead=LEAD).sleep
    facts = RunFacts(busy=False, next_run=NOW + 2 * LEAD + 1)
    assert idle_sleep.decide(facts, last_request=0, now=NOW, quiet=30, wake_lead=LEAD).sleep


def test_it_wakes_the_lead_before_its_next_run():
    assert not idle_sleep.wake_due(RunFacts(busy=False, next_run=NOW + LEAD + 1), now=NOW, wake_lead=LEAD)
    assert idle_sleep.wake_due(RunFacts(busy=False, next_run=NOW + LEAD), now=NOW, wake_lead=LEAD)
    assert idle_sleep.wake_due(RunFacts(busy=False, next_run=NOW - 60), now=NOW, wake_lead=LEAD)  # overdue


def test_it_sleeps_on_without_a_scheduled_run_and_wakes_for_work_that_appeared():
    assert not idle_sleep.wake_due(RunFacts(busy=False, next_run=None), now=NOW, wake_lead=LEAD)
    assert idle_sleep.wake_due(RunFacts(busy=True, next_run=None), now=NOW, wake_lead=LEAD)
    assert idle_sleep.wake_due(RunFacts(busy=False, next_run=None, watched_assets=True), now=NOW, wake_lead=LEAD)


def test_a_light_sleep_turns_deep_after_its_time_unless_a_run_comes_soon():
    hour = 3600.0
    quiet = RunFacts(busy=False, next_run=None)
    assert not idle_sleep.deepen_due(quiet, asleep_for=hour - 1, now=NOW, deep=hour)
    assert idle_sleep.deepen_due(quiet, asleep_for=hour, now=NOW, deep=hour)
    # a run within the hour: it stays light (its wake is then a signal, not a start)
    assert not idle_sleep.deepen_due(RunFacts(busy=False, next_run=NOW + hour - 60), asleep_for=2 * hour, now=NOW,
                                     deep=hour)
    assert idle_sleep.deepen_due(RunFacts(busy=False, next_run=NOW + 2 * hour), asleep_for=hour, now=NOW, deep=hour)
    # 0: deep at once
    assert idle_sleep.deepen_due(RunFacts(busy=False, next_run=NOW + 600), asleep_for=0, now=NOW, deep=0)
