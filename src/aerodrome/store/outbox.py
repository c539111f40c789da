"""Reading the event outbox and keeping delivery cursors. Rows are written by
store.environments in the transaction of the change they describe; readers only see committed rows.

The caller owns the transaction. With SQLite, writers are serialized, so outbox ids increase in
commit order and "everything after position N" never skips a row committed later.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerodrome.domain.events import OutboxEvent
from aerodrome.store.tables import EventCursorRow, OutboxRow


def after(position: int, *, session: Session, environment: str | None = None,
          limit: int = 100) -> list[OutboxEvent]:
    """Events with a sequence above `position`, oldest first."""
    query = select(OutboxRow).where(OutboxRow.id > position)
    if environment is not None:
        query = query.where(OutboxRow.environment == environment)
    rows = session.scalars(query.order_by(OutboxRow.id).limit(limit))
    return [OutboxEvent(sequence=r.id, environment=r.environment, kind=r.kind, payload=json.loads(r.payload),
                        created_at=r.created_at) for r in rows]


def latest(*, session: Session) -> int:
    return session.scalar(select(func.max(OutboxRow.id))) or 0


def cursor(sink: str, *, session: Session) -> int | None:
    row = session.get(EventCursorRow, sink)
    return row.position if row else None


def advance(sink: str, position: int, *, session: Session) -> None:
    row = session.get(EventCursorRow, sink)
    if row is None:
        session.add(EventCursorRow(sink=sink, position=position, updated_at=time.time()))
    elif position > row.position:
        row.position = position
        row.updated_at = time.time()
