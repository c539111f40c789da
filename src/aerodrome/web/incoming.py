"""What routing needs of an HTTP request, read from its ASGI scope once: method, path, headers and
the service its SigV4 credential scope names (a hint for routing only; the app it reaches verifies
the signature)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import Scope

_SCOPE = re.compile(r"Credential=[^/,\s]*/[^/,\s]*/[^/,\s]*/([^/,\s]*)/")


@dataclass(frozen=True, slots=True)
class Incoming:
    method: str
    path: str
    headers: dict[bytes, bytes]  # lower-case names as ASGI gives them; the first value of each
    service: str | None  # `sts`, `monitoring`, `airflow`, ... as the Authorization header scopes it

    def header(self, name: bytes) -> bytes:
        return self.headers.get(name, b"")


def incoming(scope: Scope) -> Incoming:
    headers = dict(reversed(scope.get("headers") or ()))  # reversed: the first of a repeated name wins
    return Incoming(scope.get("method", ""), scope.get("path", ""), headers,
                    signed_service(headers.get(b"authorization", b"").decode("latin-1")))


def signed_service(authorization: str) -> str | None:
    """The service an Authorization header's credential scope names, if any."""
    found = _SCOPE.search(authorization)
    return found.group(1) if found else None
