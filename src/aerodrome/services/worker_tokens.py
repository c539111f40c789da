"""Join tokens for remote worker hosts: issuing, listing and revoking them (API use cases), and the
join handshake a host makes with one (`join`), which decides purely (domain.worker_tokens.admit)
and records the host with compare-and-swap, so one token joins one host. Once that is committed the
runtime lets the host into the environment's broker as a user of its own (`host-<token id>`, a new
password at every handshake); revoking shuts that user out, ending its connections."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from aerodrome import errors
from aerodrome.domain import worker_tokens as domain
from aerodrome.domain.worker_tokens import WorkerToken
from aerodrome.runtimes.base import WorkerHosts
from aerodrome.store import environments
from aerodrome.store import worker_tokens as store_tokens
from aerodrome.store.db import Store


class WorkerTokenService:
    def __init__(self, *, store: Store, hosts: WorkerHosts | None = None, clock: Callable[[], float] = time.time):
        self._store = store
        self._hosts = hosts
        self._clock = clock

    def issue(self, name: str, *, queue: str | None = None, ttl: str | int | None = None,
              actor: str = "") -> dict:
        """A new token for one host of environment `name`; the only time its text is shown."""
        queue, seconds = domain.check_queue(queue), domain.parse_ttl(ttl)
        now = self._clock()
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        token = WorkerToken(token_id=token_id, environment=name, queue=queue,
                            secret_hash=domain.hash_secret(secret), created_at=now, expires_at=now + seconds,
                            created_by=actor)
        with self._store.session() as session:
            environments.get(name, session=session)  # NotFound for an unknown environment
            store_tokens.add(token, session=session)
        return {**_shown(token, now), "Token": domain.text(token_id, secret)}

    def list(self, name: str) -> dict:
        """{"Name", "Tokens": [{"TokenId", "Queue", "State", "Host", ...}]}, never a secret."""
        now = self._clock()
        with self._store.session() as session:
            environments.get(name, session=session)
            tokens = store_tokens.of_environment(name, session=session)
        return {"Name": name, "Tokens": [_shown(token, now) for token in tokens]}

    def revoke(self, name: str, token_id: str) -> dict:
        """Revoke token `token_id` of environment `name` (again is a no-op); returns the token."""
        now = self._clock()
        with self._store.session() as session:
            environments.get(name, session=session)
            token = store_tokens.get(token_id, session=session)
            if token is None or token.environment != name:
                raise errors.NotFound(f"Environment {name} has no worker token {token_id}; "
                                      f"`aerodrome worker tokens {name}` lists its tokens.")
            store_tokens.revoke(token_id, now=now, session=session)
            token = store_tokens.get(token_id, session=session)
            placement = environments.get(name, session=session).placement
        assert token is not None
        if self._hosts is not None:
            self._hosts.dismiss_worker_host(placement, broker_user(token_id))
        return _shown(token, now)

    def join(self, token_text: object, *, host: object, environment: str | None = None) -> dict:
        """The handshake of a joining host: the token checked, the host recorded as its owner.
        Returns what the host is to run: {"Environment", "AirflowVersion", "Queue", "TokenId", "Host"},
        with "BrokerUrl" and "BrokerCa" where a runtime lets hosts into the broker."""
        host_name = domain.check_host(host)
        token_id, secret = domain.split(token_text)
        now = self._clock()
        with self._store.session() as session:
            stored = store_tokens.get(token_id, session=session)
            admitted = domain.admit(stored, secret, host=host_name, now=now, environment=environment)
            if stored is not None and stored.host is None and \
                    not store_tokens.claim_host(token_id, host_name, now=now, session=session):
                raise errors.AccessDenied(f"Join token {token_id} was taken by another host or revoked meanwhile.")
            record = environments.get(admitted.environment, session=session)
        answer = {"Environment": admitted.environment, "AirflowVersion": record.spec.airflow_version,
                  "Queue": admitted.queue, "TokenId": token_id, "Host": host_name}
        if self._hosts is not None:
            answer |= self._hosts.admit_worker_host(record.placement, broker_user(token_id))
        return answer


def broker_user(token_id: str) -> str:
    return f"host-{token_id}"


def _shown(token: WorkerToken, now: float) -> dict:
    return {"TokenId": token.token_id, "Environment": token.environment, "Queue": token.queue,
            "State": domain.state(token, now), "CreatedAt": domain.iso(token.created_at),
            "CreatedBy": token.created_by, "ExpiresAt": domain.iso(token.expires_at),
            "RevokedAt": domain.iso(token.revoked_at) if token.revoked_at is not None else None,
            "Host": token.host, "JoinedAt": domain.iso(token.joined_at) if token.joined_at is not None else None}
