"""CloudWatch (botocore `cloudwatch`, signing name `monitoring`) and CloudWatch Logs (`logs`) on the
MWAA endpoint, in each protocol SDKs send (codec.py). A wire `takes` a request (api/front.py routes
it to the service's app) when its signature is scoped to that service, or, unsigned, when it is
shaped as one of its calls. Every call is authorized as `<prefix>:<Operation>`: CloudWatch's
on `*`, CloudWatch Logs' on the log group's ARN (`*` when none is named).
"""

from __future__ import annotations

import logging
import re
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome import errors
from aerodrome.api import signing
from aerodrome.api.aws import errors as aws_errors
from aerodrome.api.cloudwatch.codec import CBOR, JSON, QUERY, Codec
from aerodrome.auth import sigv4
from aerodrome.services.cloudwatch import CloudWatchError
from aerodrome.services.contracts import Authorizer, Credentials
from aerodrome.web import limits
from aerodrome.web.incoming import Incoming, incoming

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024  # CloudWatch's limit for a PutMetricData request, and Logs' for a PutLogEvents batch


@dataclass(frozen=True)
class Wire:
    """What tells a service's requests apart and names its actions."""

    codec: Codec
    signing_name: str  # in the SigV4 credential scope
    action_prefix: str  # in policies
    protocols: tuple[str, ...]
    resource: Callable[[dict], str]  # the resource an operation's payload names

    def protocol_of(self, request: Incoming) -> str | None:
        """The protocol a request to this service speaks, or None when it is not one."""
        service = request.service
        if service is not None and service != self.signing_name:
            return None
        target = self.codec.target
        if CBOR in self.protocols and (request.header(b"smithy-protocol") == b"rpc-v2-cbor" or
                                       request.path.startswith(f"/service/{target}/")):
            return CBOR
        if request.header(b"x-amz-target").decode("latin-1").startswith(f"{target}."):
            return JSON
        return QUERY if QUERY in self.protocols and service == self.signing_name else None

    def takes(self, request: Incoming) -> bool:
        return self.protocol_of(request) is not None


def cloudwatch_wire() -> Wire:
    return Wire(Codec("cloudwatch"), "monitoring", "cloudwatch", (CBOR, JSON, QUERY), lambda payload: "*")


def logs_wire(*, region: str, account: str) -> Wire:
    def resource(payload: dict) -> str:
        name = payload.get("logGroupName") or payload.get("logGroupIdentifier")
        return f"arn:aws:logs:{region}:{account}:log-group:{name}" if name else "*"

    return Wire(Codec("logs"), "logs", "logs", (JSON,), resource)


def build_service_app(wire: Wire, *, services: Sequence[object], credentials: Credentials,
                      authorizer: Authorizer) -> ASGIApp:
    """`services` carry one method per operation they serve, named after it in snake case."""
    codec = wire.codec
    methods = {name: getattr(service, _snake(name)) for name in codec.model.operation_names
               for service in reversed(services) if hasattr(service, _snake(name))}

    def call(operation: str, payload: dict, access_key_id: str) -> dict:
        authorizer.authorize(access_key_id, f"{wire.action_prefix}:{operation}", wire.resource(payload))
        if operation not in methods:
            raise CloudWatchError("InvalidAction", f"{operation} is not served by Aerodrome; it serves "
                                  f"{', '.join(sorted(methods))}.")
        result: dict = methods[operation](payload)
        return result

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        protocol = wire.protocol_of(incoming(scope)) or wire.protocols[-1]
        operation = ""
        try:
            body = await limits.read_body(request, MAX_BYTES)
            signed = body
            if request.headers.get("content-encoding", "").lower() == "gzip":  # botocore gzips large PutMetricData
                body = _gunzip(body)
            caller = sigv4.verify(method=request.method, raw_path=scope.get("raw_path", b"/").decode(),
                                  query=request.url.query, headers=request.headers, body=signed,
                                  secret_for=await signing.secret_finder(credentials, request.headers),
                                  service=wire.signing_name)
            if request.method != "POST":
                raise CloudWatchError("InvalidAction", "Requests to this service are POSTs.")
            operation, payload = codec.operation(protocol, scope.get("path", "/"), request.headers, body)
            result = await run_in_threadpool(call, operation, payload, caller.access_key_id)
            response = Response(codec.reply(protocol, operation, result, request_id), status_code=200,
                                media_type=codec.media[protocol])
        except Exception as exc:
            code, status, message = _to_aws(exc, query=codec.query_compatible)
            if status >= 500:
                log.exception("%s request %s (%s) failed", wire.signing_name, request_id, operation)
            content, headers = codec.error(protocol, code, status, message, request_id)
            response = Response(content, status_code=status, media_type=codec.media[protocol], headers=headers)
        response.headers["x-amzn-RequestId"] = request_id
        if protocol == CBOR:
            response.headers["smithy-protocol"] = "rpc-v2-cbor"
        await response(scope, receive, send)

    return app


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _gunzip(body: bytes) -> bytes:
    """The body unzipped, at most MAX_BYTES of it (errors.TooLarge past that, so no bomb goes off)."""
    unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = unzip.decompress(body, MAX_BYTES + 1)
    except zlib.error:
        raise errors.Invalid("The request body is marked gzip but is not gzip data.") from None
    if len(plain) > MAX_BYTES or unzip.unconsumed_tail:
        raise errors.TooLarge(MAX_BYTES)
    return plain


def _to_aws(exc: Exception, *, query: bool) -> tuple[str, int, str]:
    """(code, status, message): a query-compatible service (CloudWatch) answers with the query
    protocol's codes, a JSON one (CloudWatch Logs) with its own."""
    if isinstance(exc, CloudWatchError):
        return exc.code, exc.status, str(exc)
    if isinstance(exc, errors.Unauthenticated):
        return (aws_errors.QUERY_AUTH_CODES.get(exc.code, exc.code) if query else exc.code), 403, str(exc)
    if isinstance(exc, errors.AccessDenied):
        return ("AccessDenied" if query else "AccessDeniedException"), 403, str(exc)
    if isinstance(exc, errors.TooLarge):
        return "RequestEntityTooLarge", 413, str(exc)
    if isinstance(exc, errors.NotFound):
        return "InvalidAction", 400, str(exc)
    if isinstance(exc, errors.Invalid):
        return ("InvalidParameterValue" if query else "InvalidParameterException"), 400, str(exc)
    return "InternalServiceError", 500, aws_errors.INTERNAL[2]
