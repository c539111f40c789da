"""Schedule rows <-> domain schedules. The caller owns the transaction."""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from aerodrome.domain.schedules import Schedule, ScheduleState
from aerodrome.store import db
from aerodrome.store.tables import ScheduleRow


def _state(row: ScheduleRow) -> ScheduleState:
    schedule = Schedule(kind=row.kind, cron=row.cron, timezone=row.timezone, keep=row.keep)
    return ScheduleState(environment=row.environment, schedule=schedule, since=row.since,
                         last_fired=row.last_fired)


def of_environment(name: str, *, session: Session) -> list[ScheduleState]:
    rows = session.scalars(select(ScheduleRow).where(ScheduleRow.environment == name).order_by(ScheduleRow.kind))
    return [_state(row) for row in rows]


def all_states(*, session: Session) -> list[ScheduleState]:
    rows = session.scalars(select(ScheduleRow).order_by(ScheduleRow.environment, ScheduleRow.kind))
    return [_state(row) for row in rows]


def replace(name: str, schedules: list[Schedule], *, now: float, session: Session) -> None:
    """Make `schedules` the environment's whole set. One left as it was keeps its firing history;
    a new or changed one starts counting from `now` (it never fires for a time before it was set)."""
    wanted = {s.kind: s for s in schedules}
    for row in session.scalars(select(ScheduleRow).where(ScheduleRow.environment == name)):
        if row.kind not in wanted:
            session.delete(row)
            continue
        schedule = wanted.pop(row.kind)
        if (row.cron, row.timezone, row.keep) != (schedule.cron, schedule.timezone, schedule.keep):
            row.cron, row.timezone, row.keep = schedule.cron, schedule.timezone, schedule.keep
            row.since, row.last_fired = now, None
    for schedule in wanted.values():
        session.add(ScheduleRow(environment=name, kind=schedule.kind, cron=schedule.cron, timezone=schedule.timezone,
                                keep=schedule.keep, since=now, last_fired=None))


def claim(name: str, kind: str, due_at: float, *, session: Session) -> bool:
    """Mark the firing for `due_at` as taken; False when it was taken already (or the schedule is gone
    or was set after it). Compare-and-swap, so one due time fires once."""
    result = session.execute(
        update(ScheduleRow)
        .where(ScheduleRow.environment == name, ScheduleRow.kind == kind, ScheduleRow.since < due_at,
               or_(ScheduleRow.last_fired.is_(None), ScheduleRow.last_fired < due_at))
        .values(last_fired=due_at))
    return db.rowcount(result) == 1


def remove_environment(name: str, *, session: Session) -> None:
    session.execute(delete(ScheduleRow).where(ScheduleRow.environment == name))
