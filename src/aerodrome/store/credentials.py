"""Issued access keys. Secrets are kept sealed (the store's sealer, a key only the control plane can
read), so a copy of the store file gives none away; they are never logged or listed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aerodrome.store.sealing import TextSealer
from aerodrome.store.tables import CredentialRow, SessionCredentialRow

_KEY_ALPHABET = string.ascii_uppercase + string.digits
SEALED_PREFIX = "sealed:"  # marks a sealed secret (older stores kept them in the clear)


KEEP_EXPIRED = 7 * 24 * 3600  # expired temporary credentials are kept this long (so they say "expired")


def issue(principal: str, sealer: TextSealer, *, session: Session) -> tuple[str, str]:
    access_key_id, secret = _new_key("AKIA")
    session.add(CredentialRow(access_key_id=access_key_id, secret_access_key=SEALED_PREFIX + sealer.seal(secret),
                              principal=principal, created_at=time.time()))
    return access_key_id, secret


def issue_session(principal: str, sealer: TextSealer, *, role_session: str | None, expires_at: float,
                  session: Session) -> tuple[str, str, str]:
    """(access key id, secret, session token) of temporary credentials acting as `principal`; only the
    token's hash is kept. Long-expired ones are dropped on the way."""
    now = time.time()
    session.execute(delete(SessionCredentialRow).where(SessionCredentialRow.expires_at < now - KEEP_EXPIRED))
    access_key_id, secret = _new_key("ASIA")
    token = secrets.token_urlsafe(96)
    session.add(SessionCredentialRow(access_key_id=access_key_id, secret_access_key=SEALED_PREFIX + sealer.seal(secret),
                                     token_hash=token_hash(token), principal=principal, role_session=role_session,
                                     expires_at=expires_at, created_at=now))
    return access_key_id, secret, token


def secret_for(access_key_id: str, sealer: TextSealer, *, session: Session) -> str | None:
    row = session.get(CredentialRow, access_key_id)
    return _opened(row.secret_access_key, sealer) if row else None


def temporary(access_key_id: str, session_token: str, *, session: Session) -> SessionCredentialRow | None:
    """The temporary credentials `access_key_id` names, if `session_token` is theirs (expired or not)."""
    row = session.get(SessionCredentialRow, access_key_id)
    if row is None or not hmac.compare_digest(row.token_hash, token_hash(session_token)):
        return None
    return row


def temporary_secret(row: SessionCredentialRow, sealer: TextSealer) -> str:
    return _opened(row.secret_access_key, sealer)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def first_for(principal: str, sealer: TextSealer, *, session: Session) -> tuple[str, str] | None:
    row = session.scalars(select(CredentialRow).where(CredentialRow.principal == principal)
                          .order_by(CredentialRow.created_at)).first()
    return (row.access_key_id, _opened(row.secret_access_key, sealer)) if row else None


def seal_clear(sealer: TextSealer, *, session: Session) -> int:
    """Seal every secret still kept in the clear; how many there were."""
    rows = [r for r in session.scalars(select(CredentialRow)) if not r.secret_access_key.startswith(SEALED_PREFIX)]
    for row in rows:
        row.secret_access_key = SEALED_PREFIX + sealer.seal(row.secret_access_key)
    return len(rows)


def _new_key(prefix: str) -> tuple[str, str]:
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)), secrets.token_urlsafe(30)[:40]


def _opened(stored: str, sealer: TextSealer) -> str:
    return sealer.unseal(stored.removeprefix(SEALED_PREFIX))
