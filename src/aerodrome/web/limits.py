"""Request bodies are capped before anything else reads them: a declared Content-Length over the cap is
refused without reading, and a streamed body is cut off at the cap."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from aerodrome import errors

MWAA_API_MAX_BYTES = 6 * 1024 * 1024  # InvokeRestApi bodies are the largest MWAA requests
EXT_API_MAX_BYTES = 1024 * 1024
CLI_MAX_BYTES = 64 * 1024  # one Airflow command line
LOGIN_MAX_BYTES = 16 * 1024  # a login token and a `next` path
PROXY_MAX_BYTES = 64 * 1024 * 1024  # what the Airflow UI and REST API receive through a web endpoint


def check_declared(request: Request, limit: int) -> None:
    """errors.TooLarge when the request says it carries more than `limit` bytes (or says it unreadably)."""
    check_length(request.headers.get("content-length"), limit)


def check_length(declared: str | None, limit: int) -> None:
    """check_declared for the Content-Length header's value (None: none sent)."""
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise errors.Invalid("The Content-Length header is not a number.") from None
    if size > limit:
        raise errors.TooLarge(limit)


async def capped_stream(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body's chunks; errors.TooLarge as soon as more than `limit` bytes have arrived."""
    check_declared(request, limit)
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise errors.TooLarge(limit)
        yield chunk


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes (errors.TooLarge past that)."""
    return await read_received(request.receive, request.headers.get("content-length"), limit)


async def read_received(receive: Receive, declared: str | None, limit: int) -> bytes:
    """read_body from the ASGI channel itself, given the Content-Length header's value: an async
    generator per request costs the API's hot path more than the read does."""
    check_length(declared, limit)
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            raise errors.TooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
