"""STS on the MWAA endpoint (botocore's `sts` model, query protocol): a form-encoded POST to `/`,
SigV4-signed for service `sts`, answered in XML. `is_sts` takes a request for this app (api/front.py
routes it) when its signature is scoped to `sts` (or, unsigned, when it is a form POST to `/`).

    GetCallerIdentity                                        -> Account, Arn, UserId
    GetSessionToken  [DurationSeconds 900..129600, 43200]    -> Credentials (ASIA..., SessionToken, Expiration)
    AssumeRole  RoleArn, RoleSessionName [DurationSeconds 900..43200, 3600]  -> Credentials, AssumedRoleUser
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import parse_qs
from xml.etree import ElementTree

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome import errors
from aerodrome.api import signing
from aerodrome.api.aws import errors as aws_errors
from aerodrome.auth import sigv4
from aerodrome.services.contracts import Credentials, SecurityTokens
from aerodrome.web import limits
from aerodrome.web.incoming import Incoming
from aerodrome.web.xml import xml_text

log = logging.getLogger(__name__)

SIGNING_NAME = "sts"
NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_BYTES = 64 * 1024



class _Failure(Exception):
    def __init__(self, code: str, status: int, message: str):
        super().__init__(message)
        self.code, self.status = code, status


def is_sts(request: Incoming) -> bool:
    if request.service:
        return request.service == SIGNING_NAME
    return request.method == "POST" and request.path == "/" and \
        request.header(b"content-type").startswith(b"application/x-www-form-urlencoded")


def build_sts_app(*, tokens: SecurityTokens, credentials: Credentials) -> ASGIApp:
    def call(action: str, form: dict[str, str], access_key_id: str) -> dict:
        if action == "GetCallerIdentity":
            return tokens.caller_identity(access_key_id)
        if action == "GetSessionToken":
            return tokens.session_token(access_key_id, duration=_seconds(form))
        if action == "AssumeRole":
            for name in ("RoleArn", "RoleSessionName"):
                if not form.get(name):
                    raise _Failure("MissingParameter", 400, f"The request must contain the parameter {name}.")
            return tokens.assume_role(access_key_id, role_arn=form["RoleArn"], session_name=form["RoleSessionName"],
                                      duration=_seconds(form))
        raise _Failure("InvalidAction", 400, f"Could not find operation {action} for version 2011-06-15")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        try:
            body = await limits.read_body(request, MAX_BYTES)
            caller = sigv4.verify(method=request.method, raw_path=scope.get("raw_path", b"/").decode(),
                                  query=request.url.query, headers=request.headers, body=body,
                                  secret_for=await signing.secret_finder(credentials, request.headers),
                                  service=SIGNING_NAME)
            form = _form(body, request.url.query)
            action = form.get("Action")
            if not action:
                raise _Failure("MissingAction", 400, "The request must contain the parameter Action.")
            result = await run_in_threadpool(call, action, form, caller.access_key_id)
            response = _xml(200, _reply(action, result, request_id))
        except _Failure as exc:
            response = _xml(exc.status, _error(exc.code, exc.status, str(exc), request_id))
        except Exception as exc:
            code, status, message = _to_sts(exc)
            if status >= 500:
                log.exception("request %s failed", request_id)
            response = _xml(status, _error(code, status, message, request_id))
        response.headers["x-amzn-RequestId"] = request_id
        await response(scope, receive, send)

    return app


def _form(body: bytes, query: str) -> dict[str, str]:
    try:
        text = body.decode("utf-8") if body else query
        pairs = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise _Failure("MalformedQueryString", 404, "The request is not a well-formed query string.") from None
    return {name: values[0] for name, values in pairs.items()}


def _seconds(form: dict[str, str]) -> int | None:
    value = form.get("DurationSeconds")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise _Failure("ValidationError", 400, f"Value '{value}' at 'durationSeconds' failed to satisfy constraint: "
                                               "Member must be an integer") from None


def _to_sts(exc: Exception) -> tuple[str, int, str]:
    if isinstance(exc, errors.Unauthenticated):
        if exc.code == "ExpiredTokenException":
            return exc.code, 400, str(exc)  # as botocore's sts model has it
        return aws_errors.QUERY_AUTH_CODES.get(exc.code, exc.code), 403, str(exc)
    if isinstance(exc, errors.AccessDenied):
        return "AccessDenied", 403, str(exc)
    if isinstance(exc, errors.TooLarge):
        return "ValidationError", 413, str(exc)
    if isinstance(exc, errors.Invalid):
        return "ValidationError", 400, str(exc)
    return aws_errors.to_aws(exc)


def _reply(action: str, result: dict, request_id: str) -> bytes:
    root = ElementTree.Element(f"{action}Response", xmlns=NAMESPACE)
    _fill(ElementTree.SubElement(root, f"{action}Result"), result)
    ElementTree.SubElement(ElementTree.SubElement(root, "ResponseMetadata"), "RequestId").text = request_id
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)


def _fill(parent: ElementTree.Element, values: dict) -> None:
    for name, value in values.items():
        child = ElementTree.SubElement(parent, name)
        if isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = xml_text(value)


def _error(code: str, status: int, message: str, request_id: str) -> bytes:
    root = ElementTree.Element("ErrorResponse", xmlns=NAMESPACE)
    _fill(root, {"Error": {"Type": "Receiver" if status >= 500 else "Sender", "Code": code,
                           "Message": message}, "RequestId": request_id})
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)


def _xml(status: int, content: bytes) -> Response:
    return Response(content, status_code=status, media_type="text/xml")
