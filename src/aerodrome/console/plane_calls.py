"""The console's only way to read or change anything: the plane's own APIs, called over HTTP with
the console session's temporary credentials (boto3 for MWAA, CloudWatch and CloudWatch Logs; a
SigV4-signed request for the Aerodrome API), so the same policies decide and the same audit log
records each call as for any other client."""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any
from urllib.parse import quote, urlencode

from aerodrome.console.sessions import ConsoleSession

EXT_PREFIX = "/aerodrome/v1"
# What the console's pages call, per service; anything else is refused before it leaves.
OPERATIONS = {
    "mwaa": frozenset({"ListEnvironments", "GetEnvironment", "CreateEnvironment", "UpdateEnvironment",
                       "DeleteEnvironment", "CreateWebLoginToken", "InvokeRestApi"}),
    "cloudwatch": frozenset({"GetMetricData", "ListMetrics", "ListDashboards", "GetDashboard", "DescribeAlarms"}),
    "logs": frozenset({"FilterLogEvents", "DescribeLogGroups", "DescribeLogStreams"}),
}
EXT_METHODS = frozenset({"GET", "POST", "PUT"})


class CallError(Exception):
    """A call the plane (or the console's own checks) refused: HTTP status, AWS error code, message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code


class PlaneCalls:
    def __init__(self, *, endpoint_url: str, region: str, timeout: float = 30.0):
        self._endpoint_url = endpoint_url.rstrip("/")
        self._region = region
        self._timeout = timeout
        self._lock = threading.Lock()

    def aws(self, session: ConsoleSession, service: str, operation: str, params: dict) -> dict:
        """`operation` of `service` with `params`, as boto3 sends it; CallError when refused."""
        from botocore import xform_name
        from botocore.exceptions import ClientError, ParamValidationError

        if operation not in OPERATIONS.get(service, ()):
            raise CallError(400, "ValidationException", f"The console does not call {service} {operation}.")
        client = self._client(session, service)
        try:
            reply = getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            raise CallError(status, error.get("Code", "Error"), error.get("Message", str(exc))) from None
        except ParamValidationError as exc:
            raise CallError(400, "ValidationException", str(exc)) from None
        reply.pop("ResponseMetadata", None)
        return jsonable(reply)

    def ext(self, session: ConsoleSession, method: str, path: str, *, query: dict | None = None,
            body: dict | None = None) -> dict:
        """A request to the Aerodrome API (`path` under /aerodrome/v1), signed as boto3 would sign it."""
        import httpx
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        if method not in EXT_METHODS or not path.startswith("/") or ".." in path or "?" in path:
            raise CallError(400, "ValidationException", f"The console does not call {method} {path}.")
        url = self._endpoint_url + EXT_PREFIX + quote(path, safe="/-_.~")
        if query:
            url += "?" + urlencode({k: str(v) for k, v in query.items() if v is not None})
        content = json.dumps(body).encode() if body is not None else b""
        request = AWSRequest(method=method, url=url, data=content,
                             headers={"Content-Type": "application/json"} if body is not None else {})
        credentials = Credentials(session.access_key_id, session.secret_access_key, session.session_token)
        SigV4Auth(credentials, "airflow", self._region).add_auth(request)
        reply = httpx.request(method, url, headers=dict(request.headers.items()), content=content,
                              timeout=self._timeout)
        data = reply.json() if reply.content else {}
        if reply.status_code >= 400:
            message = data.get("message", f"HTTP {reply.status_code}")
            raise CallError(reply.status_code, data.get("code", "Error"), message)
        return data

    def _client(self, session: ConsoleSession, service: str) -> Any:
        with self._lock:
            client = session.clients.get(service)
            if client is None:
                import boto3
                from botocore.config import Config

                client = boto3.client(
                    service, endpoint_url=self._endpoint_url, region_name=self._region,
                    aws_access_key_id=session.access_key_id, aws_secret_access_key=session.secret_access_key,
                    aws_session_token=session.session_token,
                    config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                                  connect_timeout=5, read_timeout=self._timeout))
                session.clients[service] = client
            return client


def jsonable(value: Any) -> Any:
    """boto3's reply as JSON values (times as ISO 8601 UTC, bytes dropped)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if not isinstance(v, bytes)}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return value
