"""Join tokens for remote worker hosts, pure: their text form, lifetimes, queue names, and whether a
presented token may join (a decision over plain data; the store and the clock are the caller's).

A token reads `adw1.<token id>.<secret>`. Only the secret's SHA-256 is stored, so a stolen store
cannot join a host. A token belongs to one environment and one queue and joins one host: the first
host that joins with it owns it; that host may join again (after a restart) until the token is
revoked, any other host is refused. A token no host has joined with expires.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from aerodrome import errors

PREFIX = "adw1"
DEFAULT_QUEUE = "default"
DEFAULT_TTL = 24 * 3600
MIN_TTL = 60
MAX_TTL = 30 * 24 * 3600
_TTL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_TOKEN = re.compile(r"^adw1\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")
FOREIGN = ("This join token was not issued by this control plane (or was deleted with its environment); "
           "ask for one with `aerodrome worker token ENV`.")


@dataclass(frozen=True)
class WorkerToken:
    """A stored token: what it grants and what became of it (never its secret)."""

    token_id: str
    environment: str
    queue: str
    secret_hash: str
    created_at: float
    expires_at: float
    created_by: str
    revoked_at: float | None = None
    host: str | None = None
    joined_at: float | None = None


def parse_ttl(text: str | int | None) -> int:
    """Seconds from `90s`, `30m`, `12h`, `7d` or a whole number of seconds (default 24 h)."""
    if text is None:
        return DEFAULT_TTL
    found = _TTL.match(str(text))
    if found is None:
        raise errors.Invalid(f"'{text}' is not a lifetime; give seconds or a number with s, m, h or d (e.g. 12h).")
    seconds = int(found.group(1)) * _UNITS[found.group(2).lower()]
    if not MIN_TTL <= seconds <= MAX_TTL:
        raise errors.Invalid(f"A join token lives from {MIN_TTL} seconds to {MAX_TTL // 86400} days; "
                             f"'{text}' is {seconds} seconds.")
    return seconds


def check_queue(queue: str | None) -> str:
    """The Celery queue the host's workers consume (`default` when not given)."""
    if queue is None:
        return DEFAULT_QUEUE
    if not isinstance(queue, str) or not _QUEUE.match(queue):
        raise errors.Invalid(f"'{queue}' is not a queue name; use 1-64 letters, digits, '_', '.' or '-', "
                             "starting with a letter or digit.")
    return queue


def check_host(host: object) -> str:
    if not isinstance(host, str) or not _HOST.match(host):
        raise errors.Invalid("Host must name the joining host: 1-128 letters, digits, '_', '.', ':' or '-'.")
    return host


def text(token_id: str, secret: str) -> str:
    return f"{PREFIX}.{token_id}.{secret}"


def split(token: object) -> tuple[str, str]:
    """(token id, secret) of a token's text; a text of another shape is a foreign token."""
    found = _TOKEN.match(token.strip()) if isinstance(token, str) else None
    if found is None:
        raise errors.AccessDenied(FOREIGN)
    return found.group(1), found.group(2)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def admit(stored: WorkerToken | None, secret: str, *, host: str, now: float,
          environment: str | None = None) -> WorkerToken:
    """The token as it stands once `host` joins with it, or AccessDenied saying why not."""
    if stored is None or not hmac.compare_digest(stored.secret_hash, hash_secret(secret)):
        raise errors.AccessDenied(FOREIGN)
    if environment is not None and environment != stored.environment:
        raise errors.AccessDenied(f"This join token is for environment {stored.environment}, not {environment}.")
    if stored.revoked_at is not None:
        raise errors.AccessDenied(f"Join token {stored.token_id} was revoked at {iso(stored.revoked_at)}; "
                                  f"ask for a new one with `aerodrome worker token {stored.environment}`.")
    if stored.host is not None:
        if stored.host != host:
            raise errors.AccessDenied(f"Join token {stored.token_id} belongs to host {stored.host}; "
                                      "each host joins with a token of its own.")
        return stored
    if now >= stored.expires_at:
        raise errors.AccessDenied(f"Join token {stored.token_id} expired at {iso(stored.expires_at)} unused; "
                                  f"ask for a new one with `aerodrome worker token {stored.environment}`.")
    return WorkerToken(**{**stored.__dict__, "host": host, "joined_at": now})


def joined(stored: WorkerToken | None, secret: str, *, host: str) -> WorkerToken:
    """The token of a host that has joined with it (for the host's later requests), or AccessDenied."""
    token = held(stored, secret, host=host)
    if token.host != host:
        raise errors.AccessDenied(f"Host {host} has not joined with token {token.token_id}; join first.")
    return token


def held(stored: WorkerToken | None, secret: str, *, host: str | None = None) -> WorkerToken:
    """A token some host has joined with and that is not revoked, or AccessDenied."""
    if stored is None or not hmac.compare_digest(stored.secret_hash, hash_secret(secret)):
        raise errors.AccessDenied(FOREIGN)
    if stored.revoked_at is not None:
        raise errors.AccessDenied(f"Join token {stored.token_id} was revoked at {iso(stored.revoked_at)}.")
    if stored.host is None:
        raise errors.AccessDenied(f"Host {host or 'none'} has not joined with token {stored.token_id}; join first.")
    return stored


def state(stored: WorkerToken, now: float) -> str:
    if stored.revoked_at is not None:
        return "revoked"
    if stored.host is not None:
        return "joined"
    return "expired" if now >= stored.expires_at else "unused"


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
