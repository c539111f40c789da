"""Environment rows <-> records, and the one door for status changes.

Functions take the session keyword-only and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aerodrome import errors
from aerodrome.domain.environment import LastUpdate
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import Status, can_transition
from aerodrome.store import db, schedules, worker_tokens
from aerodrome.store.tables import EnvironmentRow, OutboxRow


@dataclass(frozen=True)
class EnvironmentRecord:
    name: str
    env_id: str
    arn: str
    status: Status
    generation: int
    applied_generation: int
    spec: EnvironmentSpec
    applied_spec: EnvironmentSpec | None
    placement: Placement
    tags: dict[str, str]
    created_at: float
    last_update: LastUpdate


def to_record(row: EnvironmentRow) -> EnvironmentRecord:
    return EnvironmentRecord(
        name=row.name,
        env_id=row.env_id,
        arn=row.arn,
        status=Status(row.status),
        generation=row.generation,
        applied_generation=row.applied_generation,
        spec=EnvironmentSpec.from_json(json.loads(row.spec)),
        applied_spec=EnvironmentSpec.from_json(json.loads(row.applied_spec)) if row.applied_spec else None,
        placement=Placement.from_json(json.loads(row.placement)),
        tags=json.loads(row.tags),
        created_at=row.created_at,
        last_update=LastUpdate(**json.loads(row.last_update)),
    )


def insert(record: EnvironmentRecord, *, session: Session) -> None:
    session.add(EnvironmentRow(
        name=record.name,
        env_id=record.env_id,
        arn=record.arn,
        status=record.status.value,
        generation=record.generation,
        applied_generation=record.applied_generation,
        spec=json.dumps(record.spec.to_json()),
        applied_spec=None,
        placement=json.dumps(record.placement.to_json()),
        tags=json.dumps(record.tags),
        created_at=record.created_at,
        last_update=json.dumps(dataclasses.asdict(record.last_update)),
    ))
    append_event(record.name, "status", {"status": record.status.value, "previousStatus": None,
                                         "arn": record.arn}, session=session)


def get(name: str, *, session: Session) -> EnvironmentRecord:
    row = session.get(EnvironmentRow, name)
    if row is None:
        raise errors.NotFound(f"Environment {name} not found.")
    return to_record(row)


def find_by_arn(arn: str, *, session: Session) -> EnvironmentRecord:
    row = session.scalars(select(EnvironmentRow).where(EnvironmentRow.arn == arn)).first()
    if row is None:
        raise errors.NotFound(f"Resource {arn} not found.")
    return to_record(row)


def all_records(*, session: Session) -> list[EnvironmentRecord]:
    rows = session.scalars(select(EnvironmentRow).order_by(EnvironmentRow.created_at, EnvironmentRow.name))
    return [to_record(row) for row in rows]


def set_desired(name: str, spec: EnvironmentSpec, *, last_update: LastUpdate, session: Session) -> int:
    """Store a new desired spec and bump the generation; returns the new generation."""
    row = session.get(EnvironmentRow, name)
    if row is None:
        raise errors.NotFound(f"Environment {name} not found.")
    row.generation += 1
    row.spec = json.dumps(spec.to_json())
    row.last_update = json.dumps(dataclasses.asdict(last_update))
    return row.generation


def mark_applied(name: str, *, generation: int, spec: EnvironmentSpec, session: Session) -> None:
    row = session.get(EnvironmentRow, name)
    if row is None:
        raise errors.NotFound(f"Environment {name} not found.")
    row.applied_generation = generation
    row.applied_spec = json.dumps(spec.to_json())


def restore_desired(name: str, spec: EnvironmentSpec, *, session: Session) -> None:
    """After a rollback: the desired spec is again the one that ran (generation moves on)."""
    row = session.get(EnvironmentRow, name)
    if row is None:
        raise errors.NotFound(f"Environment {name} not found.")
    row.generation += 1
    row.spec = json.dumps(spec.to_json())
    row.applied_generation = row.generation


def set_tags(name: str, tags: dict[str, str], *, session: Session) -> None:
    row = session.get(EnvironmentRow, name)
    if row is None:
        raise errors.NotFound(f"Environment {name} not found.")
    row.tags = json.dumps(tags)


def transition(name: str, to: Status, *, session: Session, expected: Status | None = None,
               generation: int | None = None, last_update: LastUpdate | None = None) -> EnvironmentRecord:
    """The one door for status changes: checks the status table, compares-and-swaps on the
    current status (and generation when given), appends an event to the outbox.

    Raises Conflict when the environment moved on meanwhile or the move is not allowed."""
    current = get(name, session=session)
    if expected is not None and current.status != expected:
        raise errors.Conflict(f"Environment {name} is {current.status.value}, not {expected.value}.")
    if current.status != to and not can_transition(current.status, to):
        raise errors.Conflict(f"Environment {name} cannot go from {current.status.value} to {to.value}.")
    values: dict[str, object] = {"status": to.value}
    if last_update is not None:
        values["last_update"] = json.dumps(dataclasses.asdict(last_update))
    condition = (EnvironmentRow.name == name) & (EnvironmentRow.status == current.status.value)
    if generation is not None:
        condition &= EnvironmentRow.generation == generation
    result = session.execute(update(EnvironmentRow).where(condition).values(**values))
    if db.rowcount(result) != 1:
        raise errors.Conflict(f"Environment {name} changed while moving to {to.value}; retry.")
    if current.status != to:
        append_event(name, "status", {"status": to.value, "previousStatus": current.status.value,
                                      "arn": current.arn}, session=session)
    session.expire_all()
    return get(name, session=session)


def remove(name: str, *, session: Session) -> None:
    row = session.get(EnvironmentRow, name)
    if row is not None:
        session.delete(row)
    schedules.remove_environment(name, session=session)
    worker_tokens.remove_environment(name, session=session)


def append_event(environment: str, kind: str, payload: dict, *, session: Session) -> None:
    session.add(OutboxRow(environment=environment, kind=kind, payload=json.dumps(payload),
                          created_at=time.time()))
