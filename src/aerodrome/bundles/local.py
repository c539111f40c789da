"""A bucket that is a local directory: `<buckets_dir>/<bucket>/<key>`."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from aerodrome import errors
from aerodrome.bundles.base import ObjectInfo


class LocalBucket:
    def __init__(self, root: Path, name: str):
        self.name = name
        self.root = root / name

    def exists(self) -> bool:
        return self.root.is_dir()

    def list(self, prefix: str) -> list[ObjectInfo]:
        if not self.exists():
            raise errors.NotFound(f"Bucket {self.name} does not exist ({self.root}).")
        base = self.root / prefix.strip("/") if prefix.strip("/") else self.root
        if not base.exists():
            return []
        found = []
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.is_symlink() and not _hidden(path.relative_to(self.root)):
                try:
                    found.append(self._info(path))
                except FileNotFoundError:
                    continue  # removed while listing
        if not self.exists():  # vanished while listing: the partial list would delete DAGs
            raise errors.NotFound(f"Bucket {self.name} does not exist ({self.root}).")
        return found

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        path = self._path(key)
        if not path.is_file():
            return None
        info = self._info(path)
        if version_id and version_id != info.etag:
            raise errors.NotFound(
                f"s3://{self.name}/{key} has no version {version_id}: a local bucket keeps only the current "
                f"content, whose version (content hash) is {info.etag}.")
        return info

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        if self.head(key, version_id=version_id) is None:
            raise errors.NotFound(f"s3://{self.name}/{key} does not exist.")
        return self._path(key).read_bytes()

    def put(self, key: str, data: bytes) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
        return self._info(path)

    def _path(self, key: str) -> Path:
        path = (self.root / key.lstrip("/")).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise errors.Invalid(f"The key {key} points outside the bucket.")
        return path

    def _info(self, path: Path) -> ObjectInfo:
        data = path.read_bytes()
        return ObjectInfo(key=path.relative_to(self.root).as_posix(), etag=hashlib.md5(data).hexdigest(),
                          size=len(data), version_id=None)


def write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".tmp-") or part.startswith(".rclone") for part in relative.parts)
