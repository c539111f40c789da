"""A bucket that is a local directory: `<buckets_dir>/<bucket>/<key>`.

A directory keeps no object versions, so an object's version is its content: the ETag, the md5 hex
of its bytes. Asking for that version succeeds; asking for any other raises `errors.NotFound`
saying so.

Only regular files reached without following a symbolic link are objects (the bucket folder itself
may be a link, say to a checkout). Files other writers have not finished (ours, rclone's) are not
objects yet, and folders are not objects at all.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import logging
import os
import stat
import threading
import time
from pathlib import Path

from aerodrome import errors
from aerodrome.bundles import paths
from aerodrome.bundles.base import ObjectInfo

log = logging.getLogger(__name__)

# A file changed this recently may change again within one timestamp tick without its stat
# changing, so its hash is not remembered until it is older.
_RACY_SECONDS = 2.0
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO must not block a listing

_Signature = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


class LocalBucket:
    def __init__(self, buckets_dir: Path, name: str):
        self.name = name
        self.root = Path(buckets_dir) / name
        self._hashes: dict[str, tuple[_Signature, str]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalBucket({str(self.root)!r})"

    def exists(self) -> bool:
        return self.root.is_dir()

    def list(self, prefix: str) -> list[ObjectInfo]:
        self._require()
        folder = prefix.rpartition("/")[0]
        if folder and (problem := paths.key_problem(folder)):
            raise errors.Invalid(f"The prefix {prefix!r} cannot name a folder of bucket {self.name}: {problem}.")
        start = self._unlinked_path(folder) if folder else self.root
        if start is None or not start.is_dir():
            return []
        try:
            found = self._walk(start, prefix)
        except OSError as exc:
            self._require()  # the bucket vanished while being listed
            raise errors.Temporary(f"Listing bucket {self.name} failed: {exc}") from exc
        self._require()  # a folder removed under the walk looks like an empty one: never report it so
        self._forget_except(prefix, {info.key for info in found})
        return sorted(found, key=lambda info: info.key)

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        path = self._object_path(key)
        if path is None:
            return None
        try:
            info = self._info(key, path)
        except OSError as exc:
            if _is_missing(exc):
                return None
            raise errors.Temporary(f"Reading s3://{self.name}/{key} failed: {exc}") from exc
        self._check_version(key, info.etag, version_id)
        return info

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        path = self._object_path(key)
        try:
            if path is None:
                raise FileNotFoundError(key)
            fd = os.open(path, _READ_FLAGS)
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise FileNotFoundError(key)
                data = handle.read()
        except OSError as exc:
            if _is_missing(exc):
                raise errors.NotFound(f"s3://{self.name}/{key} does not exist.") from exc
            raise errors.Temporary(f"Reading s3://{self.name}/{key} failed: {exc}") from exc
        self._check_version(key, hashlib.md5(data).hexdigest(), version_id)
        return data

    def put(self, key: str, data: bytes) -> ObjectInfo:
        self._folders_for(key)
        try:
            paths.write_atomically(self.root / key, data)
        except IsADirectoryError as exc:
            raise errors.Invalid(f"Cannot write s3://{self.name}/{key}: a folder of that name exists.") from exc
        return ObjectInfo(key=key, etag=hashlib.md5(data).hexdigest(), size=len(data))

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        self._folders_for(key)
        try:
            etag = paths.copy_atomically(path, self.root / key)
        except IsADirectoryError as exc:
            raise errors.Invalid(f"Cannot write s3://{self.name}/{key}: a folder of that name exists.") from exc
        return ObjectInfo(key=key, etag=etag, size=path.stat().st_size)

    def get_file(self, key: str, path: Path) -> ObjectInfo:
        found = self._object_path(key)
        if found is None or not found.is_file() or found.is_symlink():
            raise errors.NotFound(f"s3://{self.name}/{key} does not exist.")
        try:
            etag = paths.copy_atomically(found, path, mode=0o600)
        except FileNotFoundError as exc:
            raise errors.NotFound(f"s3://{self.name}/{key} does not exist.") from exc
        return ObjectInfo(key=key, etag=etag, size=path.stat().st_size)

    def _folders_for(self, key: str) -> None:
        """Check the key and make the folders above it (refusing a file or link in the way)."""
        self._require()
        self._check_key(key)
        here = self.root
        for segment in key.split("/")[:-1]:
            here = here / segment
            try:
                mode = os.lstat(here).st_mode
            except FileNotFoundError:
                here.mkdir()
                continue
            if not stat.S_ISDIR(mode):
                raise errors.Invalid(f"Cannot write s3://{self.name}/{key}: {here} is not a folder "
                                     "(a file or a symbolic link is in the way).")

    def delete(self, key: str) -> None:
        """Remove the object and the folders it leaves empty. A missing object is not an error."""
        path = self._object_path(key)
        if path is None or not path.is_file() or path.is_symlink():
            return
        path.unlink(missing_ok=True)
        for folder in path.parents:
            if folder == self.root:
                break
            try:
                folder.rmdir()
            except OSError:
                break

    # --- paths -------------------------------------------------------------------------------

    def _require(self) -> None:
        if not self.exists():
            raise errors.NotFound(f"Bucket {self.name} does not exist (no folder {self.root}); "
                                  "create the folder to create the bucket.")

    def _check_key(self, key: str) -> None:
        if problem := paths.key_problem(key):
            raise errors.Invalid(f"The key {key!r} cannot name an object in a local bucket: {problem}.")

    def _object_path(self, key: str) -> Path | None:
        """The file for `key`, or None when reaching it would follow a symbolic link."""
        self._require()
        self._check_key(key)
        return self._unlinked_path(key)

    def _unlinked_path(self, relative: str) -> Path | None:
        path = self.root / relative
        real_root = os.path.realpath(self.root)
        return path if os.path.realpath(path) == os.path.join(real_root, relative) else None

    # --- content -----------------------------------------------------------------------------

    def _walk(self, start: Path, prefix: str) -> builtins.list[ObjectInfo]:
        found = []
        for dirpath, dirnames, filenames in os.walk(start, onerror=_raise):
            here = Path(dirpath)
            base = here.relative_to(self.root).as_posix()
            base = "" if base == "." else base + "/"
            dirnames[:] = [d for d in dirnames if _may_hold(base + d + "/", prefix) and not (here / d).is_symlink()]
            for name in filenames:
                key = base + name
                if paths.in_flight(name) or not key.startswith(prefix) or not _utf8(key):
                    continue
                try:
                    found.append(self._info(key, here / name))
                except OSError as exc:
                    if not _is_missing(exc):
                        raise  # an unreadable file must not look deleted
        return found

    def _info(self, key: str, path: Path) -> ObjectInfo:
        fd = os.open(path, _READ_FLAGS)
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise FileNotFoundError(key)
            signature = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            with self._lock:
                known = self._hashes.get(key)
            if known and known[0] == signature:
                return ObjectInfo(key=key, etag=known[1], size=st.st_size)
            digest = hashlib.md5()
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        etag = digest.hexdigest()
        if time.time() - st.st_mtime > _RACY_SECONDS:
            with self._lock:
                self._hashes[key] = (signature, etag)
        return ObjectInfo(key=key, etag=etag, size=st.st_size)

    def _forget_except(self, prefix: str, keys: set[str]) -> None:
        with self._lock:
            for key in [k for k in self._hashes if k.startswith(prefix) and k not in keys]:
                del self._hashes[key]

    def _check_version(self, key: str, etag: str, version_id: str | None) -> None:
        if version_id is not None and version_id != etag:
            raise errors.NotFound(
                f"s3://{self.name}/{key} has no version {version_id}: a local bucket keeps only the current "
                f"content, and its version is its content hash {etag}.")


def _is_missing(exc: OSError) -> bool:
    """Whether opening a key failed because no object is there: gone, a folder, or a link (O_NOFOLLOW)."""
    return isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)) or exc.errno == errno.ELOOP


def _may_hold(folder_key: str, prefix: str) -> bool:
    """Whether keys below `folder_key` ("a/b/") can start with `prefix`."""
    return folder_key.startswith(prefix) or prefix.startswith(folder_key)


def _utf8(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        log.warning("skipping a file whose name is not UTF-8: %r", key)
        return False
    return True


def _raise(exc: OSError) -> None:
    raise exc
