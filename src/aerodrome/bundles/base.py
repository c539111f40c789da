"""Bucket adapters: the only code that reads user buckets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    etag: str  # content identity (md5 hex for local files, S3 ETag otherwise)
    size: int
    version_id: str | None = None


class Bucket(Protocol):
    """One bucket, addressed by S3 keys ("dags/sub/x.py").

    `list(prefix)` has S3's meaning: every object whose key starts with the string `prefix`
    ("dags" also matches "dags-old/x.py"; pass "dags/" for a folder), recursively, sorted by key,
    without folder markers. Listing a bucket that does not exist raises `errors.NotFound`.

    `version_id` asks for one object version. Where the store keeps no versions (a local directory,
    an S3-API server without versioning), the content hash (the ETag) is the version: asking for the
    current ETag succeeds, anything else raises `errors.NotFound`.
    """

    name: str

    def exists(self) -> bool: ...

    def list(self, prefix: str) -> list[ObjectInfo]: ...

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None: ...

    def get(self, key: str, *, version_id: str | None = None) -> bytes: ...

    def put(self, key: str, data: bytes) -> ObjectInfo: ...

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        """Upload a file without reading it into memory (S3: multipart once it is large)."""
        ...

    def get_file(self, key: str, path: Path) -> ObjectInfo:
        """Download an object into `path` without holding it in memory."""
        ...

    def delete(self, key: str) -> None: ...
