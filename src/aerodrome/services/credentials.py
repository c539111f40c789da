"""Access keys the control plane issues and verifies signatures against."""

from __future__ import annotations

import time
from collections.abc import Callable

from aerodrome import errors
from aerodrome.store import credentials
from aerodrome.store.db import Store

ADMIN = "admin"
TEMPORARY_PREFIX = "ASIA"  # temporary credentials' key ids (STS); permanent ones start with AKIA


class CredentialService:
    def __init__(self, *, store: Store, clock: Callable[[], float] = time.time):
        self._store = store
        self._clock = clock

    def secret_for(self, access_key_id: str, session_token: str | None = None) -> str | None:
        """The secret to verify a signature with: a permanent key's (sent without a session token), or
        temporary credentials' when `session_token` is theirs. Expired temporary credentials raise
        Unauthenticated (ExpiredTokenException)."""
        with self._store.session() as session:
            if not access_key_id.startswith(TEMPORARY_PREFIX):
                return None if session_token else credentials.secret_for(access_key_id, self._store.sealer,
                                                                         session=session)
            found = credentials.temporary(access_key_id, session_token or "", session=session)
            if found is None:
                return None
            if found.expires_at <= self._clock():
                raise errors.Unauthenticated("The security token included in the request is expired",
                                             code="ExpiredTokenException")
            return credentials.temporary_secret(found, self._store.sealer)

    def admin(self) -> tuple[str, str]:
        """The admin principal's access key, issued on first use."""
        with self._store.session() as session:
            found = credentials.first_for(ADMIN, self._store.sealer, session=session)
            return found or credentials.issue(ADMIN, self._store.sealer, session=session)
