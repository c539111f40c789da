"""Issued access keys. Secrets stay in the store file (0600); they are never logged or listed."""

from __future__ import annotations

import secrets
import string
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerodrome.store.tables import CredentialRow

_KEY_ALPHABET = string.ascii_uppercase + string.digits


def issue(principal: str, *, session: Session) -> tuple[str, str]:
    access_key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    session.add(CredentialRow(access_key_id=access_key_id, secret_access_key=secret,
                              principal=principal, created_at=time.time()))
    return access_key_id, secret


def secret_for(access_key_id: str, *, session: Session) -> str | None:
    row = session.get(CredentialRow, access_key_id)
    return row.secret_access_key if row else None


def first_for(principal: str, *, session: Session) -> tuple[str, str] | None:
    row = session.scalars(select(CredentialRow).where(CredentialRow.principal == principal)
                          .order_by(CredentialRow.created_at)).first()
    return (row.access_key_id, row.secret_access_key) if row else None
