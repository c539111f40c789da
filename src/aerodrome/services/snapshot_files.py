"""Snapshots in buckets, through the bucket adapters (local directories and S3 alike):
`aerodrome-snapshots/<environment>/<id>/` holds the files and, written last, `manifest.json`;
a folder without a manifest is not a snapshot (a save that did not finish)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aerodrome import errors
from aerodrome.bundles import resolve
from aerodrome.bundles.base import Bucket
from aerodrome.domain import snapshots
from aerodrome.settings import Settings


class SnapshotFiles:
    def __init__(self, settings: Settings):
        self._settings = settings

    def bucket(self, source_bucket_arn: str | None = None, *, name: str | None = None) -> Bucket:
        """The named bucket, else the configured snapshot bucket, else the environment's source bucket."""
        chosen = name or self._settings.snapshot_bucket
        arn = f"arn:aws:s3:::{chosen}" if chosen else source_bucket_arn
        if arn is None:
            raise errors.Invalid("No bucket to keep snapshots in: name one, or set AERODROME_SNAPSHOT_BUCKET.")
        bucket = resolve.open_bucket(self._settings, arn)
        if not bucket.exists():
            raise errors.Invalid(f"The snapshot bucket {bucket.name} does not exist; create it first.")
        return bucket

    @staticmethod
    def write(bucket: Bucket, manifest: dict, files: dict[str, Path]) -> None:
        """Each file streamed (a large dump goes up in parts), then the manifest."""
        folder = snapshots.folder(manifest["environment"], manifest["id"])
        for name, path in files.items():
            bucket.put_file(folder + name, path)
        bucket.put(folder + snapshots.MANIFEST, json.dumps(manifest, indent=1).encode())

    @staticmethod
    def manifests(bucket: Bucket, *, environment: str | None = None) -> list[dict]:
        """Every complete snapshot's manifest in `bucket` (of one environment), oldest first."""
        prefix = f"{snapshots.PREFIX}/{environment}/" if environment else f"{snapshots.PREFIX}/"
        found = []
        for info in bucket.list(prefix):
            if snapshots.parse_manifest_key(info.key):
                try:
                    found.append(json.loads(bucket.get(info.key)))
                except (errors.NotFound, ValueError):
                    continue  # deleted meanwhile, or not a manifest we wrote
        return sorted(found, key=lambda m: str(m.get("id")))

    @staticmethod
    def find(bucket: Bucket, snapshot_id: str) -> dict | None:
        for info in bucket.list(f"{snapshots.PREFIX}/"):
            if (parsed := snapshots.parse_manifest_key(info.key)) and parsed[1] == snapshot_id:
                return snapshots.check_manifest(_json(bucket.get(info.key), snapshot_id), snapshot_id)
        return None

    @staticmethod
    def read(bucket: Bucket, manifest: dict, into: Path) -> dict[str, Path]:
        """Every file of the snapshot downloaded into the folder `into`, each checked against the
        manifest (errors.Invalid if not): name -> path."""
        folder = snapshots.folder(manifest["environment"], manifest["id"])
        out = {}
        for entry in manifest["files"]:
            path = into / Path(entry["name"]).name
            try:
                bucket.get_file(folder + entry["name"], path)
            except errors.NotFound:
                raise errors.Invalid(f"Snapshot {manifest['id']}: file {entry['name']} is missing from "
                                     f"{bucket.name}; nothing was changed.") from None
            size, sha256 = digest(path)
            snapshots.check_digest(manifest["id"], entry, size=size, sha256=sha256)
            out[entry["name"]] = path
        return out

    @staticmethod
    def delete(bucket: Bucket, manifest: dict) -> None:
        """The manifest first, so a half-deleted snapshot is never listed."""
        folder = snapshots.folder(manifest["environment"], manifest["id"])
        bucket.delete(folder + snapshots.MANIFEST)
        for entry in manifest["files"]:
            bucket.delete(folder + entry["name"])


def entry(name: str, path: Path) -> dict:
    size, sha256 = digest(path)
    return snapshots.entry_of(name, size=size, sha256=sha256)


def digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in chunks."""
    hashed, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hashed.update(chunk)
            size += len(chunk)
    return size, hashed.hexdigest()


def _json(data: bytes, snapshot_id: str) -> object:
    try:
        return json.loads(data)
    except ValueError:
        raise errors.Invalid(f"Snapshot {snapshot_id}: its manifest is not JSON; nothing was changed.") from None
