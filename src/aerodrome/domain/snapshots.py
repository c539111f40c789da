"""Environment snapshots as data: ids, bucket keys, the manifest, checksums, verification and
retention. Pure; no I/O."""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets

from aerodrome import errors

PREFIX = "aerodrome-snapshots"  # bucket folder: PREFIX/<environment>/<id>/<file>
MANIFEST = "manifest.json"
DUMP = "metadata.dump"
SECRETS = "secrets.sealed"  # the environment's secrets the database depends on, sealed
FORMAT = 1
# manifest count -> Airflow metadata table
COUNTED = {"dagRuns": "dag_run", "connections": "connection", "variables": "variable", "pools": "slot_pool"}
_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def new_id(now: float) -> str:
    """Sortable by time (UTC, to the second), unique by its random tail."""
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def check_id(snapshot_id: str) -> str:
    if not _ID.fullmatch(snapshot_id):
        raise errors.Invalid(f"{snapshot_id!r} is not a snapshot id (like 20260101T120000Z-a1b2c3); "
                             "`aerodrome snapshot list` shows them.")
    return snapshot_id


def folder(environment: str, snapshot_id: str) -> str:
    return f"{PREFIX}/{environment}/{snapshot_id}/"


def parse_manifest_key(key: str) -> tuple[str, str] | None:
    """(environment, id) when `key` is a snapshot's manifest key."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == PREFIX and parts[3] == MANIFEST and _ID.fullmatch(parts[2]):
        return parts[1], parts[2]
    return None


def file_entry(name: str, data: bytes) -> dict:
    return entry_of(name, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def entry_of(name: str, *, size: int, sha256: str) -> dict:
    """A file's line in the manifest (its size and sha256 measured by whoever holds it)."""
    return {"name": name, "sha256": sha256, "size": size}


def manifest(*, snapshot_id: str, environment: str, arn: str, created: float, spec: dict,
             files: list[dict], counts: dict[str, int], bucket: str) -> dict:
    """No secrets: the spec as GetEnvironment shows it, checksums and counts."""
    return {"format": FORMAT, "id": snapshot_id, "environment": environment, "arn": arn,
            "created": datetime.datetime.fromtimestamp(created, datetime.UTC).isoformat(),
            "createdEpoch": created, "airflowVersion": spec["airflow_version"], "spec": spec,
            "files": files, "counts": counts, "bucket": bucket,
            "sizeBytes": sum(f["size"] for f in files)}


def summary(data: dict) -> dict:
    """What listings show: the manifest without the spec."""
    return {k: v for k, v in data.items() if k not in ("spec", "format", "createdEpoch")}


def check_manifest(data: object, snapshot_id: str) -> dict:
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("id") != snapshot_id:
        raise errors.Invalid(f"Snapshot {snapshot_id}: its manifest is not a format-{FORMAT} snapshot manifest "
                             "for this id; nothing was changed.")
    return data


def check_file(snapshot_id: str, entry: dict, data: bytes) -> None:
    """errors.Invalid when the file is not what the manifest recorded (size and sha256)."""
    check_digest(snapshot_id, entry, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def check_digest(snapshot_id: str, entry: dict, *, size: int, sha256: str) -> None:
    """errors.Invalid when a file's size and sha256 are not what the manifest recorded."""
    if size != entry["size"] or sha256 != entry["sha256"]:
        raise errors.Invalid(
            f"Snapshot {snapshot_id}: file {entry['name']} is corrupted or was changed (size {size}, "
            f"sha256 {sha256}; the manifest records size {entry['size']}, sha256 {entry['sha256']}). "
            "Nothing was changed; load another snapshot.")


def verify(expected: dict[str, int], actual: dict[str, int]) -> tuple[bool, str]:
    """Whether the restored database holds what the snapshot counted, in words."""
    parts = []
    for key in COUNTED:
        want, got = expected.get(key), actual.get(key)
        parts.append(f"{got} {key}" if want == got else f"{got} {key} (snapshot: {want})")
    ok = all(expected.get(k) == actual.get(k) for k in COUNTED)
    return ok, ("verified: " if ok else "MISMATCH: ") + ", ".join(parts)


def to_prune(snapshot_ids: list[str], *, keep: int) -> list[str]:
    """The oldest ids beyond the newest `keep`."""
    if keep < 0:
        raise errors.Invalid(f"keep must be 0 or more, not {keep}.")
    ordered = sorted(snapshot_ids)
    return ordered[:max(0, len(ordered) - keep)]


_NAME = re.compile(r"[a-zA-Z][0-9a-zA-Z_-]{0,79}")


def check_name(name: object) -> str:
    """An environment name a load may create (MWAA's rule)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise errors.Invalid(f"{name!r} is not a valid environment name: up to 80 letters, digits, '-' and '_', "
                             "starting with a letter.")
    return name
