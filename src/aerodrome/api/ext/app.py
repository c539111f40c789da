"""Aerodrome's own API (operations MWAA lacks): JSON over HTTP under PREFIX, verified with the
same SigV4 credentials as the MWAA API, mounted beside it (MWAA's paths never start with PREFIX).

    GET  /aerodrome/v1/events?after=N&environment=NAME  -> {"events": [...] (at most 1000),
         "position": sequence of the last one returned, "latest": newest sequence}
    GET  /aerodrome/v1/events?follow=true&after=N&environment=  -> text/event-stream, one event per
         message (`id:` is the outbox sequence; a reconnect with Last-Event-ID resumes after it;
         after=now: only events from the time of the request on)
    POST /aerodrome/v1/environments/NAME/hibernate  {"Force": false} -> {"Name", "Status", "EventPosition"}
    POST /aerodrome/v1/environments/NAME/resume                      -> {"Name", "Status", "EventPosition"}
    POST /aerodrome/v1/environments/NAME/confirm-endpoints  -> {"Name", "Status"}   (ConfirmEndpoints)
    snapshots: see api/ext/snapshots.py
    PUT|GET /aerodrome/v1/environments/NAME/schedules  (see api/ext/schedules.py)
    principals and the audit log (`aerodrome:` actions): see api/ext/principals.py
    worker join tokens and the join handshake of a remote worker host: see api/ext/workers.py
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from aerodrome import errors
from aerodrome.api import signing
from aerodrome.api.aws import errors as aws_errors
from aerodrome.api.aws import protocol
from aerodrome.api.aws.model import SIGNING_NAME
from aerodrome.api.ext import principals as ext_principals
from aerodrome.api.ext import schedules as ext_schedules
from aerodrome.api.ext import snapshots as ext_snapshots
from aerodrome.api.ext import workers as ext_workers
from aerodrome.auth import sigv4
from aerodrome.domain.spec import environment_arn
from aerodrome.services.contracts import (
    Authorizer,
    Credentials,
    Endpoints,
    Events,
    Lifecycle,
    Principals,
    Schedules,
    Snapshots,
    WorkerTokens,
)
from aerodrome.web import limits
from aerodrome.web.incoming import Incoming

log = logging.getLogger(__name__)

PREFIX = "/aerodrome/v1"
POLL = 0.2
KEEPALIVE = 15.0
_ENVIRONMENT_ACTION = re.compile(r"^/environments/([^/]+)/(hibernate|resume)$")
_SCHEDULES = re.compile(r"^/environments/([^/]+)/schedules$")
_CONFIRM = re.compile(r"^/environments/([^/]+)/confirm-endpoints$")


class ExtApi:
    def __init__(self, *, events: Events, lifecycle: Lifecycle, credentials: Credentials,
                 authorizer: Authorizer, region: str, account: str, closing: threading.Event,
                 snapshots: Snapshots | None = None, schedules: Schedules | None = None,
                 principals: Principals | None = None, endpoints: Endpoints | None = None,
                 worker_tokens: WorkerTokens | None = None):
        self._events = events
        self._worker_tokens = worker_tokens
        self._principals = principals
        self._endpoints = endpoints
        self._snapshots = snapshots
        self._lifecycle = lifecycle
        self._credentials = credentials
        self._authorizer = authorizer
        self._region = region
        self._account = account
        self._closing = closing
        self._schedules = schedules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        try:
            body = await limits.read_body(request, limits.EXT_API_MAX_BYTES)  # capped before anything reads it
            raw_path = scope.get("raw_path", request.url.path.encode()).decode()
            path = raw_path.split("?")[0][len(PREFIX):]
            if path in ext_workers.UNSIGNED and request.method == "POST" and self._worker_tokens is not None:
                # the join token is the host's credential (a remote host holds no access key)
                response = reply(200, await ext_workers.host_request(self._worker_tokens, path,
                                                                     protocol.json_object(body)))
            else:
                caller = sigv4.verify(method=request.method, raw_path=raw_path, query=request.url.query,
                                      headers=request.headers, body=body,
                                      secret_for=await signing.secret_finder(self._credentials, request.headers),
                                      service=SIGNING_NAME)
                response = await self._route(request, path, body, caller.access_key_id)
        except Exception as exc:
            code, status, message = aws_errors.to_aws(exc)
            if status >= 500:
                log.exception("request %s failed", request_id)
            response = reply(status, {"code": code, "message": message}, {"x-amzn-ErrorType": code})
        response.headers["x-amzn-RequestId"] = request_id
        await response(scope, receive, send)

    async def _route(self, request: Request, path: str, body: bytes, access_key_id: str) -> Response:
        if path == "/events" and request.method == "GET":
            await self._authorize(access_key_id, "ListEvents", request.query_params.get("environment") or "*")
            return await self.events(request)
        if self._snapshots is not None and ext_snapshots.matches(path):
            return reply(200, await ext_snapshots.route(
                self._snapshots, request.method, path, request.query_params, protocol.json_object(body),
                lambda operation, name: self._authorize(access_key_id, operation, name)))
        if self._principals is not None and ext_principals.matches(path):
            return reply(200, await ext_principals.route(
                self._principals, request.method, path, request.query_params, protocol.json_object(body),
                lambda action, resource: self._allow(access_key_id, action, resource)))
        if self._worker_tokens is not None and ext_workers.matches(path):
            return reply(200, await ext_workers.route(
                self._worker_tokens, request.method, path, protocol.json_object(body),
                lambda operation, name: self._authorize(access_key_id, operation, name)))
        if (found := _CONFIRM.match(path)) and request.method == "POST" and self._endpoints is not None:
            name = unquote(found.group(1))
            await self._authorize(access_key_id, "ConfirmEndpoints", name)
            await asyncio.to_thread(self._endpoints.confirm_endpoints, name)
            return reply(200, {"Name": name, "Status": "CREATING"})
        found = _ENVIRONMENT_ACTION.match(path)
        if found and request.method == "POST":
            name, action = unquote(found.group(1)), found.group(2)
            await self._authorize(access_key_id, f"{action.capitalize()}Environment", name)
            if action == "hibernate":
                force = protocol.json_object(body).get("Force", False)
                if not isinstance(force, bool):
                    raise errors.Invalid("Force must be true or false.")
                return reply(200, await asyncio.to_thread(self._lifecycle.hibernate, name, force=force))
            return reply(200, await asyncio.to_thread(self._lifecycle.resume, name))
        if (found := _SCHEDULES.match(path)) and request.method in ext_schedules.ACTIONS:
            name = unquote(found.group(1))
            await self._authorize(access_key_id, ext_schedules.ACTIONS[request.method], name)
            return reply(200, await ext_schedules.handle(self._schedules, request.method, name,
                                                         protocol.json_object(body)))
        raise errors.NotFound(f"No Aerodrome operation matches {request.method} {PREFIX}{path}.")

    async def _authorize(self, access_key_id: str, operation: str, name: str) -> str:
        """Aerodrome's own actions are `airflow:` actions too, so one policy language covers both APIs.
        Returns the caller's principal."""
        resource = environment_arn(name, region=self._region, account=self._account)
        return await asyncio.to_thread(self._authorizer.authorize, access_key_id, f"airflow:{operation}", resource)

    async def _allow(self, access_key_id: str, action: str, resource: str) -> str:
        """The caller's principal if its policies allow `action` on arn:aws:airflow:REGION:ACCOUNT:`resource`."""
        arn = f"arn:aws:airflow:{self._region}:{self._account}:{resource}"
        return await asyncio.to_thread(self._authorizer.authorize, access_key_id, action, arn)

    async def events(self, request: Request) -> Response:
        query = request.query_params
        after_text = request.headers.get("last-event-id") or query.get("after") or "0"
        after = await asyncio.to_thread(self._events.latest) if after_text == "now" else _position(after_text)
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


def is_ext(request: Incoming) -> bool:
    """PREFIX/... is the Aerodrome API's (api/front.py routes it here); MWAA's paths never start so."""
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def reply(status: int, data: dict, headers: dict | None = None) -> Response:
    return Response(json.dumps(data), status_code=status, media_type="application/json", headers=headers)




def _position(value: str) -> int:
    try:
        return max(0, int(value))
    except ValueError:
        raise errors.Invalid(f"'{value}' is not an event position; use the `id` of the last event "
                             "received (a whole number), 0 for all, or `now`.") from None
