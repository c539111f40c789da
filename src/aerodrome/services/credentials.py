"""Access keys the control plane issues and verifies signatures against."""

from __future__ import annotations

from aerodrome.store import credentials
from aerodrome.store.db import Store

ADMIN = "admin"


class CredentialService:
    def __init__(self, *, store: Store):
        self._store = store

    def secret_for(self, access_key_id: str) -> str | None:
        with self._store.session() as session:
            return credentials.secret_for(access_key_id, session=session)

    def admin(self) -> tuple[str, str]:
        """The admin principal's access key, issued on first use."""
        with self._store.session() as session:
            found = credentials.first_for(ADMIN, session=session)
            return found or credentials.issue(ADMIN, session=session)
