"""Schedules: when to hibernate, resume or snapshot an environment. Pure; no I/O.

A schedule is a standard 5-field cron expression (minute hour day-of-month month day-of-week),
read in a time zone (UTC unless given). `plan()` decides which schedules are due at an instant:
only the latest fire time at or before it counts, so a control plane that was down for a while
fires each schedule at most once for everything it missed, never a backlog. Of a hibernate and a
resume both due for one environment, only the later one fires (a tie goes to resume).
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from cronsim import CronSim, CronSimError

from aerodrome import errors

KINDS = ("hibernate", "resume", "snapshot")
MAX_KEEP = 1000
_UTC = datetime.UTC


@dataclass(frozen=True)
class Schedule:
    kind: str  # one of KINDS
    cron: str
    timezone: str = "UTC"
    keep: int | None = None  # snapshots only: how many scheduled snapshots to keep


@dataclass(frozen=True)
class ScheduleState:
    """A stored schedule: `since` is when it was set; `last_fired` the due time it last fired for."""

    environment: str
    schedule: Schedule
    since: float
    last_fired: float | None = None

    @property
    def considered_until(self) -> float:
        return max(self.since, self.last_fired or self.since)


@dataclass(frozen=True)
class Firing:
    state: ScheduleState
    due_at: float
    superseded_by: str | None = None  # the kind that fires instead (it is due later)


def parse(kind: str, cron: str, *, timezone: str | None = None, keep: int | None = None) -> Schedule:
    """A checked Schedule; raises errors.Invalid with what is wrong and how to write it."""
    if kind not in KINDS:
        raise errors.Invalid(f"'{kind}' is not a schedule kind; use one of {', '.join(KINDS)}.")
    cron = " ".join(str(cron).split())
    zone = timezone or "UTC"
    _zone(zone)
    _check_cron(kind, cron)
    if kind == "snapshot":
        if keep is None:
            raise errors.Invalid("A snapshot schedule needs Keep: how many scheduled snapshots to keep.")
        if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= MAX_KEEP:
            raise errors.Invalid(f"Keep must be a whole number from 1 to {MAX_KEEP}, not {keep!r}.")
    elif keep is not None:
        raise errors.Invalid(f"Keep applies to snapshot schedules only, not to {kind}.")
    return Schedule(kind=kind, cron=cron, timezone=zone, keep=keep)


def _check_cron(kind: str, cron: str) -> None:
    fields = cron.split(" ") if cron else []
    if len(fields) != 5:
        raise errors.Invalid(
            f"The {kind} schedule '{cron}' has {len(fields)} field(s); a cron expression has 5: minute hour "
            "day-of-month month day-of-week, for example '0 19 * * 1-5' (19:00 on weekdays).")
    try:
        CronSim(cron, datetime.datetime(2000, 1, 1, tzinfo=_UTC))
    except CronSimError as exc:
        raise errors.Invalid(f"The {kind} schedule '{cron}' is not a valid cron expression: {exc}.") from None


def _zone(name: str) -> datetime.tzinfo:
    if name.upper() == "UTC":
        return _UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise errors.Invalid(f"'{name}' is not a time zone; use an IANA name such as UTC or Europe/Berlin.") from None


def next_fire(schedule: Schedule, after: float) -> float:
    """The first fire time strictly after `after` (epoch seconds)."""
    start = datetime.datetime.fromtimestamp(after, _zone(schedule.timezone))
    return next(CronSim(schedule.cron, start)).timestamp()


def latest_fire(schedule: Schedule, at: float) -> float:
    """The last fire time at or before `at` (epoch seconds)."""
    # cron has minute granularity; searching back from just past `at` includes `at` itself
    start = datetime.datetime.fromtimestamp(int(at) + 1, _zone(schedule.timezone))
    return next(CronSim(schedule.cron, start, reverse=True)).timestamp()


def plan(states: list[ScheduleState], now: float) -> list[Firing]:
    """The schedules due at `now`, each with the one due time it fires for (its latest missed one)."""
    due = [Firing(state, at) for state in states
           if (at := latest_fire(state.schedule, now)) > state.considered_until]
    latest_power: dict[str, Firing] = {}
    for firing in due:
        if firing.state.schedule.kind in ("hibernate", "resume"):
            best = latest_power.get(firing.state.environment)
            if best is None or _later(firing, best):
                latest_power[firing.state.environment] = firing
    out = []
    for firing in due:
        winner = latest_power.get(firing.state.environment)
        if firing.state.schedule.kind in ("hibernate", "resume") and winner is not None and winner is not firing:
            firing = Firing(firing.state, firing.due_at, superseded_by=winner.state.schedule.kind)
        out.append(firing)
    return out


def _later(one: Firing, other: Firing) -> bool:
    if one.due_at != other.due_at:
        return one.due_at > other.due_at
    return one.state.schedule.kind == "resume"


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, _UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
