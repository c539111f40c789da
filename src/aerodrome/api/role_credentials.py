"""GET PATH with `Authorization: <environment's token>` -> the execution role's temporary credentials,
in the shape every AWS SDK's container credential provider reads (AccessKeyId, SecretAccessKey,
Token, Expiration). Authenticated by that token alone: it is what the SDKs send."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome import errors
from aerodrome.settings import ROLE_CREDENTIALS_PATH as PATH
from aerodrome.web.incoming import Incoming, incoming

log = logging.getLogger(__name__)

class RoleCredentials(Protocol):
    def credentials(self, token: str) -> dict:
        """Raises errors.AccessDenied for a token of no environment."""


def is_role_credentials(request: Incoming) -> bool:
    return request.path == PATH


def build_role_credentials_app(roles: RoleCredentials) -> ASGIApp:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        token = incoming(scope).header(b"authorization").decode("latin-1")
        status, body = 200, {}
        if scope.get("method") != "GET":
            status, body = 405, {"code": "InvalidAction", "message": f"Use GET on {PATH}."}
        elif not token:
            status, body = 401, {"code": "AccessDenied", "message": "An Authorization token is required."}
        else:
            try:
                body = await asyncio.to_thread(roles.credentials, token)
            except errors.AccessDenied as exc:
                status, body = 403, {"code": "AccessDenied", "message": str(exc)}
            except Exception:
                log.exception("role credentials failed")
                status, body = 500, {"code": "InternalFailure", "message": "Credentials could not be issued."}
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": payload})

    return answer
