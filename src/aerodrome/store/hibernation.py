"""Hibernation requests. The caller owns the transaction."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from aerodrome.store.tables import HibernationRow

IDLE = "idle"  # the reason idle sleep gives: such a hibernation wakes by itself
WOKEN = "woken"  # an idle sleep being resumed: it ran no scheduled run late, so next runs stay as they are


def request(name: str, *, force: bool, session: Session, reason: str | None = None) -> None:
    """Record (or escalate to `force`) a hibernation of `name`; a request with no reason (a person's
    or a schedule's) makes a hibernation for a reason (idle sleep's) an ordinary one."""
    row = session.get(HibernationRow, name)
    if row is None:
        session.add(HibernationRow(name=name, force=force, requested_at=time.time(), reason=reason))
    else:
        row.force = row.force or force
        row.reason = row.reason if reason == row.reason else None


def woken(name: str, *, session: Session) -> None:
    """`name` resumes from idle sleep (kept until its next hibernation)."""
    row = session.get(HibernationRow, name)
    if row is not None:
        row.reason = WOKEN


def reason(name: str, *, session: Session) -> str | None:
    """Why `name` hibernates or hibernated (None: it was asked to, or it does not)."""
    row = session.get(HibernationRow, name)
    return row.reason if row else None


def forced(name: str, *, session: Session) -> bool:
    row = session.get(HibernationRow, name)
    return bool(row and row.force)


def clear(name: str, *, session: Session) -> None:
    row = session.get(HibernationRow, name)
    if row is not None:
        session.delete(row)
