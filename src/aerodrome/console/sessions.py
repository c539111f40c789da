"""Console sessions, in memory: a random id in an HttpOnly cookie (only its hash is kept) names the
principal, the temporary credentials the console acts with and the session's CSRF token. A restart
of the control plane signs everyone out of the console."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SESSION_SECONDS = 8 * 3600  # a console session (and its credentials) lasts a working day
MAX_SESSIONS = 10_000


@dataclass
class ConsoleSession:
    principal: str
    person: str | None  # who single sign-on vouched for; None when signed in with an access key
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    csrf: str = field(repr=False)
    expires_at: float
    sso_session: str | None = field(default=None, repr=False)  # hash of the SSO cookie it came from
    clients: dict[str, Any] = field(default_factory=dict, repr=False)  # boto3 clients, made on first use


class ConsoleSessions:
    def __init__(self, *, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, ConsoleSession] = {}

    def open(self, *, principal: str, person: str | None, credentials: dict, sso_cookie: str | None = None) -> str:
        """A new session acting with `credentials` (STS-shaped); its id, for the cookie."""
        session_id = secrets.token_urlsafe(32)
        session = ConsoleSession(principal=principal, person=person, access_key_id=credentials["AccessKeyId"],
                                 secret_access_key=credentials["SecretAccessKey"],
                                 session_token=credentials["SessionToken"], csrf=secrets.token_urlsafe(32),
                                 expires_at=self._clock() + SESSION_SECONDS,
                                 sso_session=digest(sso_cookie) if sso_cookie else None)
        with self._lock:
            now = self._clock()
            ended = [self._sessions.pop(k) for k in [k for k, s in self._sessions.items() if s.expires_at <= now]]
            while len(self._sessions) >= MAX_SESSIONS:
                ended.append(self._sessions.pop(next(iter(self._sessions))))
            self._sessions[digest(session_id)] = session
        _close(ended)
        return session_id

    def get(self, session_id: str) -> ConsoleSession | None:
        """The live session the cookie names; None for an unknown (forged), ended or expired one."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(digest(session_id))
        if session is None or session.expires_at <= self._clock():
            return None
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(digest(session_id or ""), None)
        _close([session] if session else [])

    def close(self) -> None:
        """Ends every session (the control plane stops)."""
        with self._lock:
            ended, self._sessions = list(self._sessions.values()), {}
        _close(ended)


def _close(sessions: list[ConsoleSession]) -> None:
    """Closes the sessions' API clients (their connection pools)."""
    for session in sessions:
        for client in session.clients.values():
            client.close()
        session.clients.clear()


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
