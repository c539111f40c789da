"""The secret behind a signed request, found before SigV4 verification runs and without blocking
the event loop: from memory when the key was seen since the last change, read in a worker thread
otherwise."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.concurrency import run_in_threadpool

from aerodrome import errors
from aerodrome.auth import sigv4
from aerodrome.services.contracts import Credentials


async def secret_finder(credentials: Credentials, headers: Mapping[str, str]) -> Callable[[str], str | None]:
    """`secret_for` for `sigv4.verify`, with the answer for the key the request names ready."""
    token = headers.get("x-amz-security-token")
    key = sigv4.access_key_of(headers)
    if key is None:
        return sigv4.with_session_token(credentials.secret_for, headers)
    failure: errors.Unauthenticated | None = None
    try:
        secret = credentials.cached_secret(key, token)
        if secret is None:
            secret = await run_in_threadpool(credentials.secret_for, key, token)
    except errors.Unauthenticated as exc:  # raised when verify asks, so its earlier checks come first
        secret, failure = None, exc

    def secret_for(access_key_id: str) -> str | None:
        if access_key_id != key:
            return credentials.secret_for(access_key_id, token)
        if failure is not None:
            raise failure
        return secret

    return secret_for
