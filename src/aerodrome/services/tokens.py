"""Short-lived tokens for an environment's web endpoint, kept in memory (hashed) by the control plane.

CLI tokens are reusable until they expire; web login tokens work once. Both live 60 s and only
for the environment they were issued for. A restart of the control plane forgets them all.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from aerodrome import errors

TTL = 60.0


@dataclass
class Grant:
    kind: str  # "cli" | "web"
    environment: str
    principal: str
    role: str
    expires_at: float
    used: bool = False
    username: str | None = None  # who Airflow 3 knows the holder as (single sign-on: the person)
    teams: tuple[str, ...] | None = None  # a multi-team environment's teams the holder belongs to


class Tokens:
    def __init__(self, *, ttl: float = TTL, clock: Callable[[], float] = time.time) -> None:
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self._ttl = ttl
        self._clock = clock

    def issue(self, kind: str, *, environment: str, principal: str, role: str, username: str | None = None,
              teams: tuple[str, ...] | None = None) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._grants = {k: g for k, g in self._grants.items() if g.expires_at > now}
            self._grants[_digest(token)] = Grant(kind, environment, principal, role, now + self._ttl,
                                                 username=username, teams=teams)
        return token

    def redeem(self, token: str, kind: str, *, environment: str) -> Grant:
        """The grant behind `token`, if valid for `kind` on `environment`; Unauthenticated otherwise.
        The message never says which check failed beyond what the holder already knows."""
        with self._lock:
            grant = self._grants.get(_digest(token or ""))
            if grant is None or grant.kind != kind:
                raise errors.Unauthenticated("The token is not valid.")
            if grant.expires_at <= self._clock():
                raise errors.Unauthenticated("The token has expired; create a new one.")
            if grant.environment != environment:
                raise errors.Unauthenticated("The token was issued for another environment.")
            if kind == "web":
                if grant.used:
                    raise errors.Unauthenticated("The token was already used; create a new one.")
                grant.used = True
            return grant


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
