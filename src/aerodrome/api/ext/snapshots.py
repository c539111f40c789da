"""The Aerodrome API's snapshot operations (routed from api/ext/app.py), each authorized as an
`airflow:` action on the environment it reads or changes:

    POST /aerodrome/v1/environments/NAME/snapshots        {"Bucket"?}  -> snapshot summary   SaveSnapshot
    POST /aerodrome/v1/environments/NAME/snapshots/prune  {"Keep": N, "Bucket"?} -> {"Deleted", "Kept"}
                                                                                          PruneSnapshots
    GET  /aerodrome/v1/snapshots?environment=NAME&bucket=B -> {"Snapshots": [...]}        ListSnapshots
    POST /aerodrome/v1/snapshots/ID/load  {"Into"?, "Bucket"?} -> {"Name", "Status", "Snapshot",
         "EventPosition"}          LoadSnapshot on the target (and CreateEnvironment with Into)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import unquote

from aerodrome import errors
from aerodrome.services.contracts import Snapshots

_SAVE = re.compile(r"^/environments/([^/]+)/snapshots(/prune)?$")
_LOAD = re.compile(r"^/snapshots/([^/]+)/load$")


def matches(path: str) -> bool:
    return path == "/snapshots" or bool(_SAVE.match(path) or _LOAD.match(path))


async def route(snapshots: Snapshots, method: str, path: str, query: Mapping[str, str], body: dict,
                authorize: Callable[[str, str], Awaitable[object]]) -> dict:
    bucket = _text(body.get("Bucket", query.get("bucket")), "Bucket")
    if path == "/snapshots" and method == "GET":
        name = query.get("environment") or None
        await authorize("ListSnapshots", name or "*")
        return {"Snapshots": await asyncio.to_thread(snapshots.list, name, bucket=bucket)}
    if (found := _SAVE.match(path)) and method == "POST":
        name = unquote(found.group(1))
        if found.group(2):
            keep = body.get("Keep")
            if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
                raise errors.Invalid("Keep must be a whole number, 0 or more.")
            await authorize("PruneSnapshots", name)
            return await asyncio.to_thread(snapshots.prune, name, keep=keep, bucket=bucket)
        await authorize("SaveSnapshot", name)
        return await asyncio.to_thread(snapshots.save, name, bucket=bucket)
    if (found := _LOAD.match(path)) and method == "POST":
        snapshot_id, into = unquote(found.group(1)), _text(body.get("Into"), "Into")
        target = await asyncio.to_thread(snapshots.target, snapshot_id, into=into, bucket=bucket)
        await authorize("LoadSnapshot", target)
        if into is not None:
            await authorize("CreateEnvironment", target)
        return await asyncio.to_thread(snapshots.load, snapshot_id, into=into, bucket=bucket)
    raise errors.NotFound(f"No Aerodrome operation matches {method} /aerodrome/v1{path}.")


def _text(value: object, label: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise errors.Invalid(f"{label} must be a non-empty string.")
    return value
