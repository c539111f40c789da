"""Bucket adapters: the only code that reads user buckets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    etag: str  # content identity (md5 hex for local files, S3 ETag otherwise)
    size: int
    version_id: str | None = None


class Bucket(Protocol):
    name: str

    def exists(self) -> bool: ...

    def list(self, prefix: str) -> list[ObjectInfo]: ...

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None: ...

    def get(self, key: str, *, version_id: str | None = None) -> bytes: ...

    def put(self, key: str, data: bytes) -> ObjectInfo: ...
