"""Remote worker host requests of the Aerodrome API.

    POST   /aerodrome/v1/environments/NAME/worker-tokens  {"Queue"?: "gpu", "Ttl"?: "12h" | seconds}
           -> {"TokenId", "Token" (shown once), "Environment", "Queue", "State", "ExpiresAt", ...}
                                                                   (airflow:CreateWorkerToken)
    GET    /aerodrome/v1/environments/NAME/worker-tokens  -> {"Name", "Tokens": [...]}   (airflow:ListWorkerTokens)
    DELETE /aerodrome/v1/environments/NAME/worker-tokens/ID -> the token, revoked     (airflow:RevokeWorkerToken)
    POST   /aerodrome/v1/workers/join  {"Token", "Host", "Environment"?}
           -> {"Environment", "AirflowVersion", "Queue", "TokenId", "Host", "Spec", "BrokerUrl", "BrokerCa",
               "ExecutionApiUrl", "WebCa"?}
    POST   /aerodrome/v1/workers/spec     {"Token", "Host"} -> {"Spec"}  (what the host's workers run now)
    POST   /aerodrome/v1/workers/objects  {"Token", "Host"} -> {"Objects": [{"Key", "ETag", "Size"}]}
    POST   /aerodrome/v1/workers/object   {"Token", "Host", "Key"} -> {"Key", "ETag", "Body" (base64)}
           (none SigV4-signed: the join token is the joining host's credential)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aerodrome import errors
from aerodrome.services.contracts import WorkerTokens

JOIN = "/workers/join"
SPEC = "/workers/spec"
OBJECTS = "/workers/objects"
OBJECT = "/workers/object"
UNSIGNED = frozenset({JOIN, SPEC, OBJECTS, OBJECT})  # POST only
_TOKENS = re.compile(r"^/environments/([^/]+)/worker-tokens$")
_TOKEN = re.compile(r"^/environments/([^/]+)/worker-tokens/([^/]+)$")
_ISSUE_MEMBERS = {"Queue", "Ttl"}
_JOIN_MEMBERS = {"Token", "Host", "Environment"}
_HOST_MEMBERS = {"Token", "Host"}
_OBJECT_MEMBERS = {"Token", "Host", "Key"}


def matches(path: str) -> bool:
    return bool(_TOKENS.match(path) or _TOKEN.match(path))


async def route(tokens: WorkerTokens, method: str, path: str, body: dict,
                authorize: Callable[[str, str], Awaitable[str]]) -> dict:
    """A token request signed by a principal; `authorize(operation, environment)` returns its name."""
    if (found := _TOKENS.match(path)) and method in ("POST", "GET"):
        name = unquote(found.group(1))
        if method == "GET":
            await authorize("ListWorkerTokens", name)
            return await asyncio.to_thread(tokens.list, name)
        actor = await authorize("CreateWorkerToken", name)
        if unknown := set(body) - _ISSUE_MEMBERS:
            raise errors.Invalid(f"Unknown member(s): {', '.join(sorted(unknown))}; give Queue and Ttl.")
        queue, ttl = body.get("Queue"), body.get("Ttl")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (str, int))):
            raise errors.Invalid("Ttl must be seconds or a string such as 12h.")
        return await asyncio.to_thread(lambda: tokens.issue(name, queue=queue, ttl=ttl, actor=actor))
    if (found := _TOKEN.match(path)) and method == "DELETE":
        name, token_id = unquote(found.group(1)), unquote(found.group(2))
        await authorize("RevokeWorkerToken", name)
        return await asyncio.to_thread(tokens.revoke, name, token_id)
    raise errors.NotFound(f"No worker-token operation matches {method} {path}.")


async def host_request(tokens: WorkerTokens, path: str, body: dict) -> dict:
    """A request of a (joining) host, which its join token authenticates."""
    if path == JOIN:
        return await join(tokens, body)
    allowed = _OBJECT_MEMBERS if path == OBJECT else _HOST_MEMBERS
    if unknown := set(body) - allowed:
        raise errors.Invalid(f"Unknown member(s): {', '.join(sorted(unknown))}; give {', '.join(sorted(allowed))}.")
    if path == SPEC:
        return await asyncio.to_thread(lambda: tokens.spec(body.get("Token"), host=body.get("Host")))
    if path == OBJECTS:
        return await asyncio.to_thread(lambda: tokens.objects(body.get("Token"), host=body.get("Host")))
    return await asyncio.to_thread(lambda: tokens.read(body.get("Token"), host=body.get("Host"), key=body.get("Key")))


async def join(tokens: WorkerTokens, body: dict) -> dict:
    if unknown := set(body) - _JOIN_MEMBERS:
        raise errors.Invalid(f"Unknown member(s): {', '.join(sorted(unknown))}; give Token, Host and Environment.")
    environment = body.get("Environment")
    if environment is not None and not isinstance(environment, str):
        raise errors.Invalid("Environment must be an environment's name.")
    return await asyncio.to_thread(lambda: tokens.join(body.get("Token"), host=body.get("Host"),
                                                       environment=environment))
