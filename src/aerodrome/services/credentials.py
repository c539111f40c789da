"""Access keys the control plane issues and verifies signatures against."""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from aerodrome import errors
from aerodrome.store import credentials
from aerodrome.store.db import Store

ADMIN = "admin"
TEMPORARY_PREFIX = "ASIA"  # temporary credentials' key ids (STS); permanent ones start with AKIA
KEY_TABLES = ("credentials", "session_credentials", "principals")
MAX_CACHED = 10_000


@dataclass(frozen=True)
class _Known:
    generation: int
    secret: str = ""
    token_hash: str = ""  # temporary credentials: their session token's hash
    expires_at: float = math.inf

    def __repr__(self) -> str:
        return "_Known(...)"  # holds a secret


class CredentialService:
    """Secrets are opened once per key and kept in memory until a key or principal changes (the
    store's generations say when); unknown keys are always looked up. The session token, the
    expiry and the signature itself are checked on every request."""

    def __init__(self, *, store: Store, clock: Callable[[], float] = time.time):
        self._store = store
        self._clock = clock
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def secret_for(self, access_key_id: str, session_token: str | None = None) -> str | None:
        """The secret to verify a signature with: a permanent key's (sent without a session token), or
        temporary credentials' when `session_token` is theirs. Expired temporary credentials raise
        Unauthenticated (ExpiredTokenException)."""
        known = self._kept(access_key_id)
        if known is None:
            known = self._look_up(access_key_id, session_token)
            if known is None:
                return None
        return self._checked(known, access_key_id, session_token)

    def cached_secret(self, access_key_id: str, session_token: str | None = None) -> str | None:
        """`secret_for` when it needs no store read (the key was seen since the last change); None
        when it would (call `secret_for` then, off the event loop)."""
        known = self._kept(access_key_id)
        return None if known is None else self._checked(known, access_key_id, session_token)

    def _kept(self, access_key_id: str) -> _Known | None:
        known = self._known.get(access_key_id)
        return known if known is not None and known.generation == self._store.generations.of(*KEY_TABLES) else None

    def _checked(self, known: _Known, access_key_id: str, session_token: str | None) -> str | None:
        if not access_key_id.startswith(TEMPORARY_PREFIX):
            return None if session_token else known.secret
        if not hmac.compare_digest(known.token_hash, credentials.token_hash(session_token or "")):
            return None
        if known.expires_at <= self._clock():
            raise errors.Unauthenticated("The security token included in the request is expired",
                                         code="ExpiredTokenException")
        return known.secret

    def _look_up(self, access_key_id: str, session_token: str | None) -> _Known | None:
        generation = self._store.generations.of(*KEY_TABLES)
        with self._store.session() as session:
            if not access_key_id.startswith(TEMPORARY_PREFIX):
                secret = credentials.secret_for(access_key_id, self._store.sealer, session=session)
                known = None if secret is None else _Known(generation, secret)
            else:
                found = credentials.temporary(access_key_id, session_token or "", session=session)
                known = None if found is None else _Known(generation, credentials.temporary_secret(
                    found, self._store.sealer), found.token_hash, found.expires_at)
        if known is not None:
            with self._lock:
                if len(self._known) >= MAX_CACHED:
                    self._known.clear()
                self._known[access_key_id] = known
        return known

    def admin(self) -> tuple[str, str]:
        """The admin principal's access key, issued on first use."""
        with self._store.session() as session:
            found = credentials.first_for(ADMIN, self._store.sealer, session=session)
            return found or credentials.issue(ADMIN, self._store.sealer, session=session)
