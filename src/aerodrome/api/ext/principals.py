"""Principal and audit-log requests of the Aerodrome API (routed from api/ext/app.py).

They are `aerodrome:` actions, not `airflow:` ones, so a policy granting `airflow:*` (MWAA's full
API access) does not let its holder create principals or grant itself more. Resources are
`arn:aws:airflow:REGION:ACCOUNT:principal/NAME` and `arn:aws:airflow:REGION:ACCOUNT:audit`.

    POST   /aerodrome/v1/principals  {"Name"}  -> {"Name", "AccessKeyId", "SecretAccessKey"}
                                                                          aerodrome:CreatePrincipal
    GET    /aerodrome/v1/principals  -> {"Principals": [{"Name", "AccessKeyIds", "Policies"}]}
                                                                          aerodrome:ListPrincipals
    DELETE /aerodrome/v1/principals/NAME  -> {"Name"}                     aerodrome:DeletePrincipal
    PUT    /aerodrome/v1/principals/NAME/policies/POLICY  {"PolicyDocument": JSON text or object}
                                          -> {"Name", "PolicyName"}        aerodrome:AttachPolicy
    DELETE /aerodrome/v1/principals/NAME/policies/POLICY
                                          -> {"Name", "PolicyName"}        aerodrome:DetachPolicy
    PUT    /aerodrome/v1/principals/NAME/trust  {"PolicyDocument": a trust rule: who may assume NAME
           as a role with STS AssumeRole}  -> {"Name", "PolicyName": "TrustPolicy"}
                                                                          aerodrome:AttachPolicy
    GET    /aerodrome/v1/audit?limit=N  -> {"Entries": [{"At", "Principal", "Action", "Resource",
                                            "Outcome", "Detail"}]} (oldest first)  aerodrome:GetAuditLog

The secret access key appears in CreatePrincipal's reply only; the audit log records names.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import unquote

from aerodrome import errors
from aerodrome.services.contracts import Principals

# authorize(action, resource path under arn:aws:airflow:REGION:ACCOUNT:) -> the caller's principal
Authorize = Callable[[str, str], Awaitable[str]]

_ONE = re.compile(r"^/principals/([^/]+)$")
_POLICY = re.compile(r"^/principals/([^/]+)/policies/([^/]+)$")
_TRUST = re.compile(r"^/principals/([^/]+)/trust$")
MAX_AUDIT = 1000


def matches(path: str) -> bool:
    return path in ("/principals", "/audit") or bool(_ONE.match(path) or _POLICY.match(path) or _TRUST.match(path))


async def route(principals: Principals, method: str, path: str, query: Mapping[str, str], body: dict,
                authorize: Authorize) -> dict:
    if path == "/principals" and method == "POST":
        name = body.get("Name")
        if not isinstance(name, str):
            raise errors.Invalid("Name must be a string.")
        actor = await authorize("aerodrome:CreatePrincipal", f"principal/{name}")
        key_id, secret = await asyncio.to_thread(principals.create, name, actor=actor)
        return {"Name": name, "AccessKeyId": key_id, "SecretAccessKey": secret}
    if path == "/principals" and method == "GET":
        await authorize("aerodrome:ListPrincipals", "principal/*")
        found = await asyncio.to_thread(principals.describe)
        return {"Principals": [{"Name": p["name"], "AccessKeyIds": p["access_keys"], "Policies": p["policies"]}
                               for p in found]}
    if path == "/audit" and method == "GET":
        await authorize("aerodrome:GetAuditLog", "audit")
        entries = await asyncio.to_thread(principals.audit, limit=_limit(query.get("limit")))
        return {"Entries": [{key.capitalize(): value for key, value in entry.items()} for entry in entries]}
    if (one := _ONE.match(path)) and method == "DELETE":
        name = unquote(one.group(1))
        actor = await authorize("aerodrome:DeletePrincipal", f"principal/{name}")
        await asyncio.to_thread(principals.delete, name, actor=actor)
        return {"Name": name}
    if (policy := _POLICY.match(path)) and method in ("PUT", "DELETE"):
        name, policy_name = unquote(policy.group(1)), unquote(policy.group(2))
        if method == "DELETE":
            actor = await authorize("aerodrome:DetachPolicy", f"principal/{name}")
            await asyncio.to_thread(principals.detach, name, policy_name, actor=actor)
        else:
            document = _document(body.get("PolicyDocument"))
            actor = await authorize("aerodrome:AttachPolicy", f"principal/{name}")
            await asyncio.to_thread(principals.attach, name, policy_name, document, actor=actor)
        return {"Name": name, "PolicyName": policy_name}
    if (trust := _TRUST.match(path)) and method == "PUT":
        name = unquote(trust.group(1))
        document = _document(body.get("PolicyDocument"))
        actor = await authorize("aerodrome:AttachPolicy", f"principal/{name}")
        await asyncio.to_thread(principals.trust, name, document, actor=actor)
        return {"Name": name, "PolicyName": "TrustPolicy"}
    raise errors.NotFound(f"No Aerodrome operation matches {method} /aerodrome/v1{path}.")


def _document(value: object) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if not isinstance(value, str):
        raise errors.Invalid("PolicyDocument must be a policy as JSON text or a JSON object.")
    return value


def _limit(value: str | None) -> int:
    try:
        limit = 50 if value is None else int(value)
    except ValueError:
        raise errors.Invalid(f"limit must be a whole number from 1 to {MAX_AUDIT}.") from None
    if not 1 <= limit <= MAX_AUDIT:
        raise errors.Invalid(f"limit must be a whole number from 1 to {MAX_AUDIT}.")
    return limit
