"""CloudWatch's metric API on the MWAA endpoint (botocore's `cloudwatch` model, signing name
`monitoring`), in each protocol SDKs send (see codec.py). `with_cloudwatch` sends a request here when
its signature is scoped to `monitoring`, or, unsigned, when it is shaped as a CloudWatch call; the
rest goes on unchanged. Every call is authorized as `cloudwatch:<Operation>` on `*`.
"""

from __future__ import annotations

import logging
import re
import uuid
import zlib
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome import errors
from aerodrome.api.aws import errors as aws_errors
from aerodrome.api.cloudwatch.codec import CBOR, JSON, MEDIA, QUERY, Codec
from aerodrome.auth import sigv4
from aerodrome.services.cloudwatch import CloudWatchError
from aerodrome.services.contracts import Authorizer, Credentials
from aerodrome.web import limits

log = logging.getLogger(__name__)

SIGNING_NAME = "monitoring"
MAX_BYTES = 1024 * 1024  # CloudWatch's limit for a PutMetricData request
TARGET = "GraniteServiceVersion20100801"


def protocol_of(scope: Scope) -> str | None:
    """The CloudWatch protocol a request speaks, or None when it is not a CloudWatch request."""
    headers = dict(scope.get("headers") or [])
    path = scope.get("path", "")
    service = sigv4.signed_service(headers.get(b"authorization", b"").decode("latin-1"))
    if service not in (None, SIGNING_NAME):
        return None
    if headers.get(b"smithy-protocol") == b"rpc-v2-cbor" or path.startswith(f"/service/{TARGET}/"):
        return CBOR
    if headers.get(b"x-amz-target", b"").decode("latin-1").startswith(f"{TARGET}."):
        return JSON
    return QUERY if service == SIGNING_NAME else None


def with_cloudwatch(app: ASGIApp, cloudwatch: ASGIApp) -> ASGIApp:
    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and protocol_of(scope):
            await cloudwatch(scope, receive, send)
        else:
            await app(scope, receive, send)

    return routed


def build_cloudwatch_app(*, services: Sequence[object], credentials: Credentials,
                         authorizer: Authorizer) -> ASGIApp:
    """`services` carry one method per operation they serve, named after it in snake case."""
    codec = Codec()
    methods = {name: getattr(service, _snake(name)) for name in codec.model.operation_names
               for service in reversed(services) if hasattr(service, _snake(name))}

    def call(operation: str, payload: dict, access_key_id: str) -> dict:
        authorizer.authorize(access_key_id, f"cloudwatch:{operation}", "*")
        if operation not in methods:
            raise CloudWatchError("InvalidAction", f"{operation} is not served by Aerodrome; it serves "
                                  f"{', '.join(sorted(methods))}.")
        result: dict = methods[operation](payload)
        return result

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        protocol = protocol_of(scope) or QUERY
        operation = ""
        try:
            body = await limits.read_body(request, MAX_BYTES)
            signed = body
            if request.headers.get("content-encoding", "").lower() == "gzip":  # botocore gzips large PutMetricData
                body = _gunzip(body)
            caller = sigv4.verify(method=request.method, raw_path=scope.get("raw_path", b"/").decode(),
                                  query=request.url.query, headers=request.headers, body=signed,
                                  secret_for=sigv4.with_session_token(credentials.secret_for, request.headers),
                                  service=SIGNING_NAME)
            if request.method != "POST":
                raise CloudWatchError("InvalidAction", "CloudWatch requests are POSTs.")
            operation, payload = codec.operation(protocol, scope.get("path", "/"), request.headers, body)
            result = await run_in_threadpool(call, operation, payload, caller.access_key_id)
            response = Response(codec.reply(protocol, operation, result, request_id), status_code=200,
                                media_type=MEDIA[protocol])
        except Exception as exc:
            code, status, message = _to_cloudwatch(exc)
            if status >= 500:
                log.exception("CloudWatch request %s (%s) failed", request_id, operation)
            content, headers = codec.error(protocol, code, status, message, request_id)
            response = Response(content, status_code=status, media_type=MEDIA[protocol], headers=headers)
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


def _to_cloudwatch(exc: Exception) -> tuple[str, int, str]:
    if isinstance(exc, CloudWatchError):
        return exc.code, exc.status, str(exc)
    if isinstance(exc, errors.Unauthenticated):
        return aws_errors.QUERY_AUTH_CODES.get(exc.code, exc.code), 403, str(exc)
    if isinstance(exc, errors.AccessDenied):
        return "AccessDenied", 403, str(exc)
    if isinstance(exc, errors.TooLarge):
        return "RequestEntityTooLarge", 413, str(exc)
    if isinstance(exc, errors.NotFound):
        return "InvalidAction", 400, str(exc)
    if isinstance(exc, errors.Invalid):
        return "InvalidParameterValue", 400, str(exc)
    return "InternalServiceError", 500, aws_errors.INTERNAL[2]
