"""Worker join token rows <-> domain tokens. The caller owns the transaction."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from aerodrome.domain.worker_tokens import WorkerToken
from aerodrome.store import db
from aerodrome.store.tables import WorkerTokenRow

_FIELDS = ("token_id", "environment", "queue", "secret_hash", "created_at", "expires_at", "created_by",
           "revoked_at", "host", "joined_at")


def _token(row: WorkerTokenRow) -> WorkerToken:
    return WorkerToken(**{field: getattr(row, field) for field in _FIELDS})


def add(token: WorkerToken, *, session: Session) -> None:
    session.add(WorkerTokenRow(**{field: getattr(token, field) for field in _FIELDS}))


def get(token_id: str, *, session: Session) -> WorkerToken | None:
    row = session.get(WorkerTokenRow, token_id)
    return None if row is None else _token(row)


def of_environment(name: str, *, session: Session) -> list[WorkerToken]:
    rows = session.scalars(select(WorkerTokenRow).where(WorkerTokenRow.environment == name)
                           .order_by(WorkerTokenRow.created_at, WorkerTokenRow.token_id))
    return [_token(row) for row in rows]


def claim_host(token_id: str, host: str, *, now: float, session: Session) -> bool:
    """Record `host` as the token's host; False when another host (or a revocation) came first.
    Compare-and-swap, so two hosts racing with one token cannot both join."""
    result = session.execute(update(WorkerTokenRow)
                             .where(WorkerTokenRow.token_id == token_id, WorkerTokenRow.host.is_(None),
                                    WorkerTokenRow.revoked_at.is_(None))
                             .values(host=host, joined_at=now))
    return db.rowcount(result) == 1


def revoke(token_id: str, *, now: float, session: Session) -> None:
    session.execute(update(WorkerTokenRow)
                    .where(WorkerTokenRow.token_id == token_id, WorkerTokenRow.revoked_at.is_(None))
                    .values(revoked_at=now))


def remove_environment(name: str, *, session: Session) -> None:
    session.execute(delete(WorkerTokenRow).where(WorkerTokenRow.environment == name))
