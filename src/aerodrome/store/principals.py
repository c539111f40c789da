"""Principals, their policy documents and the audit log. Callers own the transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Float, Integer, String, Table, Text, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from aerodrome import errors
from aerodrome.store.tables import Base, CredentialRow, SessionCredentialRow

IDENTITY = "identity"  # a policy kind: what the principal may do
TRUST = "trust"  # a policy kind: who may assume the principal as a role (one per principal)
TRUST_NAME = "TrustPolicy"


class PrincipalRow(Base):
    __tablename__ = "principals"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)


class PolicyRow(Base):
    __tablename__ = "policies"

    principal: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default=IDENTITY, server_default=IDENTITY)


class AuditRow(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    principal: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(1224))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)


def ensure(name: str, *, session: Session) -> bool:
    """Create the principal if missing; True when it was created."""
    if session.get(PrincipalRow, name) is not None:
        return False
    session.add(PrincipalRow(name=name, created_at=time.time()))
    session.flush()
    return True


def exists(name: str, *, session: Session) -> bool:
    return session.get(PrincipalRow, name) is not None


def names(*, session: Session) -> list[str]:
    return list(session.scalars(select(PrincipalRow.name).order_by(PrincipalRow.created_at)))


def remove(name: str, *, session: Session) -> None:
    if session.get(PrincipalRow, name) is None:
        raise errors.NotFound(f"Principal {name} does not exist.")
    session.execute(delete(PolicyRow).where(PolicyRow.principal == name))
    session.execute(delete(CredentialRow).where(CredentialRow.principal == name))
    session.execute(delete(SessionCredentialRow).where(SessionCredentialRow.principal == name))
    session.execute(delete(PrincipalRow).where(PrincipalRow.name == name))


def put_policy(principal: str, name: str, document: str, *, session: Session, kind: str = IDENTITY) -> None:
    row = session.get(PolicyRow, (principal, name))
    if row is None:
        session.add(PolicyRow(principal=principal, name=name, document=document, kind=kind))
    else:
        row.document, row.kind = document, kind


def remove_policy(principal: str, name: str, *, session: Session) -> None:
    row = session.get(PolicyRow, (principal, name))
    if row is None:
        raise errors.NotFound(f"Principal {principal} has no policy named {name}.")
    session.delete(row)


def policies(principal: str, *, session: Session, kind: str = IDENTITY) -> dict[str, str]:
    rows = session.scalars(select(PolicyRow).where(PolicyRow.principal == principal, PolicyRow.kind == kind)
                           .order_by(PolicyRow.name))
    return {r.name: r.document for r in rows}


def principal_of(access_key_id: str, *, session: Session) -> str | None:
    """The principal a permanent key belongs to, or the one temporary credentials act as."""
    row = session.get(CredentialRow, access_key_id)
    if row is not None:
        return row.principal
    temporary = session.get(SessionCredentialRow, access_key_id)
    return temporary.principal if temporary else None


def key_ids(principal: str, *, session: Session) -> list[str]:
    return list(session.scalars(select(CredentialRow.access_key_id).where(CredentialRow.principal == principal)))


def record(principal: str, action: str, resource: str, outcome: str, detail: str = "", *,
           session: Session) -> None:
    session.add(AuditRow(at=time.time(), principal=principal, action=action, resource=resource,
                         outcome=outcome, detail=detail[:500]))


@dataclass(frozen=True)
class AuditEntry:
    """One audit row before it is stored (what the audit journal keeps)."""

    principal: str
    action: str
    resource: str
    outcome: str
    detail: str = ""
    at: float = field(default_factory=time.time)


def record_all(entries: Sequence[AuditEntry], *, session: Session) -> None:
    """One executemany into the table (not the ORM's bulk insert, which costs twice as much a row)."""
    if entries:
        rows = [{**vars(e), "detail": e.detail[:500]} for e in entries]
        session.execute(insert(cast(Table, AuditRow.__table__)), rows)


def unrecorded(entries: Iterable[AuditEntry], *, session: Session) -> list[AuditEntry]:
    """Those of `entries` no row records yet (same time, principal, action and resource)."""
    entries = list(entries)
    times = sorted({e.at for e in entries})
    found: set[tuple[float, str, str, str]] = set()
    for start in range(0, len(times), 500):
        found.update((row[0], row[1], row[2], row[3]) for row in session.execute(
            select(AuditRow.at, AuditRow.principal, AuditRow.action, AuditRow.resource)
            .where(AuditRow.at.in_(times[start:start + 500]))))
    return [e for e in entries if (e.at, e.principal, e.action, e.resource) not in found]


def audit(*, session: Session, limit: int = 100) -> list[dict]:
    rows = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))
    return [{"at": r.at, "principal": r.principal, "action": r.action, "resource": r.resource,
             "outcome": r.outcome, "detail": r.detail} for r in reversed(list(rows))]
