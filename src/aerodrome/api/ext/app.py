"""Aerodrome's own API (operations MWAA lacks): JSON over HTTP under PREFIX, verified with the
same SigV4 credentials as the MWAA API, mounted beside it (MWAA's paths never start with PREFIX).

    GET  /aerodrome/v1/events?after=N&environment=NAME  -> {"events": [...] (at most 1000),
         "position": sequence of the last one returned, "latest": newest sequence}
    GET  /aerodrome/v1/events?follow=true&after=N&environment=  -> text/event-stream, one event per
         message (`id:` is the outbox sequence; a reconnect with Last-Event-ID resumes after it)
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome import errors
from aerodrome.api.aws import errors as aws_errors
from aerodrome.api.aws.model import SIGNING_NAME
from aerodrome.auth import sigv4
from aerodrome.services.contracts import Credentials, Events

log = logging.getLogger(__name__)

PREFIX = "/aerodrome/v1"
POLL = 0.2
KEEPALIVE = 15.0

class ExtApi:
    def __init__(self, *, events: Events, credentials: Credentials, closing: threading.Event):
        self._events = events
        self._credentials = credentials
        self._closing = closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        try:
            body = await request.body()
            raw_path = scope.get("raw_path", request.url.path.encode()).decode()
            sigv4.verify(method=request.method, raw_path=raw_path, query=request.url.query,
                         headers=request.headers, body=body, secret_for=self._credentials.secret_for,
                         service=SIGNING_NAME)
            response = await self._route(request, raw_path.split("?")[0][len(PREFIX):])
        except Exception as exc:
            code, status, message = aws_errors.to_aws(exc)
            if status >= 500:
                log.exception("request %s failed", request_id)
            response = reply(status, {"code": code, "message": message}, {"x-amzn-ErrorType": code})
        response.headers["x-amzn-RequestId"] = request_id
        await response(scope, receive, send)

    async def _route(self, request: Request, path: str) -> Response:
        if path == "/events" and request.method == "GET":
            return await self.events(request)
        raise errors.NotFound(f"No Aerodrome operation matches {request.method} {PREFIX}{path}.")

    async def events(self, request: Request) -> Response:
        query = request.query_params
        after = _position(request.headers.get("last-event-id") or query.get("after") or "0")
        environment = query.get("environment") or None
        if query.get("follow", "").lower() in ("1", "true", "yes"):
            return StreamingResponse(self._stream(after, environment), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        found = await asyncio.to_thread(self._events.since, after, environment=environment, limit=1000)
        latest = await asyncio.to_thread(self._events.latest)
        position = found[-1][0] if found else min(after, latest)
        return reply(200, {"events": [e for _, e in found], "position": position, "latest": latest})

    async def _stream(self, after: int, environment: str | None) -> AsyncIterator[bytes]:
        position, idle = after, 0.0
        yield b": connected\n\n"
        while not self._closing.is_set():
            found = await asyncio.to_thread(self._events.since, position, environment=environment)
            for sequence, event in found:
                position = sequence
                yield f"id: {sequence}\nevent: {event['detail-type']}\ndata: {json.dumps(event)}\n\n".encode()
            if found:
                idle = 0.0
                continue
            await asyncio.sleep(POLL)
            idle += POLL
            if idle >= KEEPALIVE:
                idle = 0.0
                yield b": keepalive\n\n"


def with_extensions(mwaa: ASGIApp, ext: ASGIApp) -> ASGIApp:
    """One ASGI app: PREFIX/... goes to the Aerodrome API, everything else to the MWAA API."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            await ext(scope, receive, send)
        else:
            await mwaa(scope, receive, send)

    return app


def reply(status: int, data: dict, headers: dict | None = None) -> Response:
    return Response(json.dumps(data), status_code=status, media_type="application/json", headers=headers)


def _position(value: str) -> int:
    try:
        return max(0, int(value))
    except ValueError:
        raise errors.Invalid(f"'{value}' is not an event position; use the `id` of the last event "
                             "received (a whole number), or 0 for all.") from None
