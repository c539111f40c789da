"""The MWAA API as an ASGI app: verify SigV4, route, validate, call one operation, shape the reply."""

from __future__ import annotations

import functools
import json
import logging
import random
import re
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome import errors
from aerodrome.api import signing
from aerodrome.api.aws import errors as aws_errors
from aerodrome.api.aws import protocol, validate
from aerodrome.api.aws.model import SIGNING_NAME
from aerodrome.api.aws.operations import NOT_YET, ROLE_SCOPED, Encoded, MwaaOperations
from aerodrome.auth import sigv4
from aerodrome.domain.spec import environment_arn
from aerodrome.services.contracts import Access, Authorizer, Credentials, Environments, Metrics, RestApi
from aerodrome.store.db import WouldBlock, memory_only
from aerodrome.web import limits

log = logging.getLogger(__name__)

PASSES_ROLE = ("CreateEnvironment", "UpdateEnvironment")  # the caller hands its environment an execution role
IN_MEMORY = ("ListEnvironments", "GetEnvironment")  # on the event loop while the environments are in memory
JSON = b"application/json"
T = TypeVar("T")


def build_mwaa_app(*, environments: Environments, credentials: Credentials, region: str, account: str,
                   authorizer: Authorizer, access: Access | None = None, rest_api: RestApi | None = None,
                   metrics: Metrics | None = None, known_groups: frozenset[str] | None = None) -> ASGIApp:
    operations = MwaaOperations(environments, access, rest_api, metrics, known_groups)

    def resource_of(operation: str, payload: dict) -> str:
        if "ResourceArn" in payload:
            return payload["ResourceArn"]
        name = payload.get("Name") or payload.get("EnvironmentName")
        return environment_arn(name, region=region, account=account) if name else "*"

    def authorized(operation: str, payload: dict, access_key_id: str) -> str:
        """The one decision point for API calls: the caller's principal, or AccessDenied."""
        principal = authorizer.authorize(access_key_id, f"airflow:{operation}", resource_of(operation, payload))
        if operation in PASSES_ROLE and payload.get("ExecutionRoleArn"):  # as IAM asks of MWAA's callers
            authorizer.authorize(access_key_id, "iam:PassRole", payload["ExecutionRoleArn"])
        return principal

    def run(operation: str, payload: dict, principal: str) -> dict:
        method = getattr(operations, _snake(operation))
        if operation in ("CreateCliToken", "PublishMetrics"):
            return method(payload, caller=principal)
        return method(payload)

    async def call(operation: str, payload: dict, access_key_id: str) -> dict:
        """Authorize, then run the operation: on the event loop when neither needs the store (the
        caller's policies and, for IN_MEMORY reads, the environments are in memory), in a worker
        thread otherwise."""
        if operation in NOT_YET:
            return operations.not_available(operation)
        if operation in ROLE_SCOPED:  # the role resources decide, in the access service
            return await run_in_threadpool(getattr(operations, _snake(operation)), payload, caller=access_key_id)
        principal = await _without_waiting(authorized, operation, payload, access_key_id)
        if operation in IN_MEMORY:
            return await _without_waiting(run, operation, payload, principal)
        return await run_in_threadpool(run, operation, payload, principal)

    async def handle(scope: Scope, receive: Receive, request_id: str) -> tuple[int, dict, tuple]:
        """(status, JSON document, extra headers) for one request, read straight from its ASGI scope."""
        method = scope["method"]
        raw = scope.get("raw_path")
        raw_path = raw.decode() if raw else scope["path"]
        query = scope.get("query_string", b"").decode()
        headers = {name.decode("latin-1"): value.decode("latin-1")  # reversed: a repeated name's first value
                   for name, value in reversed(scope["headers"])}
        try:
            body = await limits.read_received(receive, headers.get("content-length"), limits.MWAA_API_MAX_BYTES)
            caller = sigv4.verify(method=method, raw_path=raw_path, query=query, headers=headers, body=body,
                                  secret_for=await signing.secret_finder(credentials, headers),
                                  service=SIGNING_NAME)
            route, labels = protocol.match(method, raw_path)
            payload = protocol.parse_input(route, labels, query, body)
            if route.input_shape:
                validate.check(route.input_shape, payload)
            log.debug("%s %s by %s", route.operation, labels.get("Name", ""), caller.access_key_id)  # audited
            return 200, await call(route.operation, payload, caller.access_key_id), ()
        except errors.RestApiFailure as exc:
            code, status, document = aws_errors.rest_api_error(exc)
            return status, document, ((b"x-amzn-errortype", code.encode()),)
        except errors.NotFound as exc:
            if "No MWAA operation" in str(exc):
                return _error("UnknownOperationException", 404, str(exc))
            return _error(*aws_errors.to_aws(exc))
        except Exception as exc:
            code, status, message = aws_errors.to_aws(exc)
            if status >= 500:
                log.exception("request %s failed", request_id)
            return _error(code, status, message)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        """Every request reaches `handle`, whatever its method, so one the model lacks (OPTIONS, say)
        gets an AWS error too rather than a router's plain-text 405."""
        if scope["type"] != "http":
            return
        request_id = _request_id()
        status, document, extra = await handle(scope, receive, request_id)
        body = document.body if isinstance(document, Encoded) else json.dumps(document).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", JSON),
                                (b"x-amzn-requestid", request_id.encode()), *extra]})
        await send({"type": "http.response.body", "body": body})

    return app


async def _without_waiting(function: Callable[..., T], *args: object) -> T:
    """function(*args) on the event loop if it needs no store read (it stops before one, and before
    any side effect after it); in a worker thread if it does."""
    try:
        with memory_only():
            return function(*args)
    except WouldBlock:
        return await run_in_threadpool(function, *args)


def _request_id() -> str:
    """A version-4 UUID from Python's generator: uuid4 asks the OS (os.urandom), which lets go of the
    GIL, and winning it back under load costs more than the whole request; an id needs no secrecy.
    Formatted here: uuid.UUID checks and converts more than the request can spare."""
    bits = random.getrandbits(128) & _UUID_KEEP | _UUID_V4
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_UUID_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)  # version and variant bits cleared
_UUID_V4 = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def _error(code: str, status: int, message: str) -> tuple[int, dict, tuple]:
    return status, aws_errors.body(code, message), ((b"x-amzn-errortype", code.encode()),)


@functools.cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
