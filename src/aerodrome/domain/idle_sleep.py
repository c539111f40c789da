"""Idle sleep, decided purely: when an environment nobody uses may hibernate itself, and when it wakes.

An environment opts in with the tag `aerodrome:idle-sleep` (minutes of quiet, or `off`); the plane's
setting gives the default for the rest. It sleeps when, for that long, no web, CLI or REST request
reached it, nothing runs or waits to run (dag runs queued or running, task instances queued, running,
deferred or waiting to retry), no asset is watched by a trigger (event-driven scheduling needs the
triggerer awake), and no scheduled run is due within that time either. It wakes `wake_lead` seconds
before its next scheduled run, and on the first request that needs it. An asset-scheduled DAG does
not keep it awake: its asset events come from this environment's own tasks (which run only awake) or
through its REST API (a request, which wakes it).

A sleep is light first (the processes are frozen: no CPU, memory kept, a wake in a second) and turns
deep (the processes stop and their memory is released; a wake starts them) once the environment has
slept `deep` seconds with no run due within that time either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

TAG = "aerodrome:idle-sleep"
OFF = frozenset({"off", "false", "no", "0"})


@dataclass(frozen=True)
class RunFacts:
    """What the environment's metadata database says about its work."""

    busy: bool  # a dag run queued or running, or a task instance anywhere between scheduled and done
    next_run: float | None  # seconds since the epoch of the earliest next run of an unpaused DAG
    watched_assets: bool = False  # an asset with a watcher (a trigger) feeds a DAG


@dataclass(frozen=True)
class Decision:
    sleep: bool
    reason: str


def quiet_minutes(tags: Mapping[str, str], default: float) -> float | None:
    """After how many quiet minutes the environment sleeps, or None when it never does: the tag's
    number (positive), `off`, or the plane's default (0: off). A tag that is neither is off."""
    value = tags.get(TAG)
    if value is None:
        return default if default > 0 else None
    text = value.strip().lower()
    if text in OFF:
        return None
    try:
        minutes = float(text)
    except ValueError:
        return None
    return minutes if minutes > 0 else None


def decide(facts: RunFacts, *, last_request: float, now: float, quiet: float, wake_lead: float) -> Decision:
    """Whether to sleep now, with `quiet` seconds since `last_request` needed; the reason either way."""
    if now - last_request < quiet:
        return Decision(False, f"a request {now - last_request:.0f} s ago")
    if facts.busy:
        return Decision(False, "runs or tasks are active")
    if facts.watched_assets:
        return Decision(False, "an asset is watched by a trigger")
    if facts.next_run is not None and facts.next_run - now <= max(quiet, 2 * wake_lead):
        return Decision(False, f"a run is due in {max(0.0, facts.next_run - now):.0f} s")
    return Decision(True, f"quiet for {now - last_request:.0f} s, "
                          + ("no scheduled run" if facts.next_run is None
                             else f"next run in {facts.next_run - now:.0f} s"))


def wake_due(facts: RunFacts, *, now: float, wake_lead: float) -> bool:
    """Whether a sleeping environment should wake for its next scheduled run (or work that appeared)."""
    if facts.busy or facts.watched_assets:
        return True
    return facts.next_run is not None and facts.next_run - now <= wake_lead


def deepen_due(facts: RunFacts, *, asleep_for: float, now: float, deep: float) -> bool:
    """Whether a light sleep (frozen processes) should turn deep (processes stopped)."""
    if asleep_for < deep or facts.busy or facts.watched_assets:
        return False
    return facts.next_run is None or facts.next_run - now > deep
