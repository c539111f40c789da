"""Hibernation requests. The caller owns the transaction."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from aerodrome.store.tables import HibernationRow


def request(name: str, *, force: bool, session: Session) -> None:
    """Record (or escalate to `force`) a hibernation of `name`."""
    row = session.get(HibernationRow, name)
    if row is None:
        session.add(HibernationRow(name=name, force=force, requested_at=time.time()))
    else:
        row.force = row.force or force


def forced(name: str, *, session: Session) -> bool:
    row = session.get(HibernationRow, name)
    return bool(row and row.force)


def clear(name: str, *, session: Session) -> None:
    row = session.get(HibernationRow, name)
    if row is not None:
        session.delete(row)
