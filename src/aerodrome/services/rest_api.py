"""InvokeRestApi: a call to the environment's Airflow REST API as the caller's strongest allowed
Airflow role (Airflow 3: a role token; Airflow 2: basic auth as the role's FAB user)."""

from __future__ import annotations

import base64
import json
import time

import httpx

from aerodrome import errors
from aerodrome.domain.airflow_roles import airflow_user
from aerodrome.domain.status import RUNNING
from aerodrome.runtimes.base import RuntimeDriver
from aerodrome.services import targets
from aerodrome.services.access import Awake
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.principals import PrincipalService

REST_TIMEOUT = 10.0
REACH_PATIENCE = 15.0  # seconds a refusing web server is asked again
REACH_STEP = 0.5
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REST_MAX_BYTES = 6 * 1024 * 1024
TOKEN_TTL = 60


class RestApiService:
    def __init__(self, *, environments: EnvironmentService, runtime: RuntimeDriver, principals: PrincipalService,
                 awake: Awake | None = None):
        self._environments = environments
        self._runtime = runtime
        self._principals = principals
        self._awake = awake

    def invoke_rest_api(self, access_key_id: str, request: dict) -> dict:
        name = request["Name"]
        self._environments.get(name)  # NotFound first
        principal, role = self._principals.granted_role(access_key_id, "airflow:InvokeRestApi", name)
        if self._awake is not None:  # after the caller is known to be allowed: only they may wake it
            self._awake(name, "InvokeRestApi")
        status = self._environments.get(name).status
        if status not in RUNNING:
            raise errors.Conflict(f"Environment {name} is {status.value}; InvokeRestApi reaches its "
                                  "Airflow REST API once it is AVAILABLE.")
        target = targets.find(self._environments, name)
        version = "v2" if target.major >= 3 else "v1"
        url = f"{target.api_base}/api/{version}{request['Path']}"
        if target.major >= 3:
            token = self._runtime.api_token(target.placement, username=airflow_user(principal), role=role,
                                            ttl=TOKEN_TTL)
            headers = {"Authorization": f"Bearer {token}"}
        else:  # Airflow 2's REST API takes basic auth (see airflow_env DEFAULTS) as the role's FAB user
            user, password = self._runtime.role_login(target.spec, target.placement, role)
            headers = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        body = request.get("Body")
        if not body and request["Method"] not in ("POST", "PUT", "PATCH"):
            body = None  # MwaaHook sends {} with every GET; Airflow expects no body there
        try:
            status_code, content = send(request["Method"], url, params=request.get("QueryParameters") or None,
                                        body=body, headers=headers)
        except httpx.TimeoutException:
            raise errors.Temporary(f"The Airflow REST API of {name} did not answer within "
                                   f"{REST_TIMEOUT:.0f} s.") from None
        except httpx.TransportError as exc:
            raise errors.Temporary(f"The Airflow REST API of {name} is not reachable ({type(exc).__name__}); "
                                   "is the environment AVAILABLE?") from None
        document = _document(content)
        if status_code >= 400:
            raise errors.RestApiFailure(f"Airflow answered {status_code}.", status=status_code, response=document)
        return {"RestApiStatusCode": status_code, "RestApiResponse": document}


def send(method: str, url: str, *, params: dict | None, body: object, headers: dict[str, str],
         patience: float = REACH_PATIENCE) -> tuple[int, bytes]:
    """One call to Airflow's REST API: (status code, body). A web server that refuses connections
    (restarting in a rolling update, say) is asked again for up to `patience` seconds; so is one that
    dropped an idempotent request unanswered. A request that may have been acted on is never repeated,
    and a timeout is not asked again."""
    deadline = time.monotonic() + patience
    while True:
        try:
            with httpx.Client(timeout=REST_TIMEOUT) as client, client.stream(
                    method, url, params=params, json=body, headers=headers) as reply:
                return reply.status_code, _read_capped(reply)
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            unsent = isinstance(exc, httpx.ConnectError)
            if not (unsent or method in IDEMPOTENT) or time.monotonic() + REACH_STEP > deadline:
                raise
            time.sleep(REACH_STEP)


def _read_capped(reply: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in reply.iter_bytes():
        size += len(chunk)
        if size > REST_MAX_BYTES:
            raise errors.Invalid("The Airflow REST API response is larger than 6 MB; ask for less "
                                 "(e.g. with limit and offset query parameters).")
        chunks.append(chunk)
    return b"".join(chunks)


def _document(content: bytes) -> object:
    if not content:
        return {}
    try:
        return json.loads(content)
    except ValueError:
        return {"text": content.decode(errors="replace")[:2000]}
