"""Key rules and file writing shared by the local bucket and the DAG mirror."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# Our files in flight. Keys using this name are refused, so a temporary file never shadows an object.
TEMP_PREFIX = ".aerodrome-tmp-"
CHUNK = 1 << 20  # what a streamed copy holds in memory at a time
# Names other writers give files they have not finished: rclone's `serve s3` uploads and
# `rclone copy`/`sync` partial files.
_IN_FLIGHT_PREFIXES = (TEMP_PREFIX, ".rclone_temp_", ".rclone_multipart_upload_")
_IN_FLIGHT_SUFFIXES = (".partial",)


def key_problem(key: str) -> str | None:
    """Why `key` cannot name a file below a folder, or None when it can.

    Keys map to paths, so they must be in canonical form: relative, "/"-separated, without empty,
    "." or ".." segments (a trailing "/" is an empty segment: a folder marker, not a file).
    """
    if not key:
        return "it is empty"
    if key.startswith("/"):
        return "it is an absolute path"
    if "\x00" in key:
        return "it contains a NUL character"
    if "\\" in key:
        return "it contains a backslash"
    segments = key.split("/")
    if ".." in segments:
        return "it contains a '..' segment"
    if "." in segments or "" in segments:
        return "it is not in canonical form (empty or '.' segment, or a trailing '/')"
    if any(segment.startswith(TEMP_PREFIX) for segment in segments):
        return f"names starting with {TEMP_PREFIX} are reserved for files being written"
    return None


def in_flight(name: str) -> bool:
    """True for a file name some writer uses while the file is not complete yet."""
    return name.startswith(_IN_FLIGHT_PREFIXES) or name.endswith(_IN_FLIGHT_SUFFIXES)


def copy_atomically(source: Path, path: Path, *, mode: int = 0o644) -> str:
    """Copy `source` to `path` in chunks, as write_atomically does; the copy's md5 hex."""
    digest = hashlib.md5()

    def copy(out: BinaryIO) -> None:
        with open(source, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)

    _atomically(path, copy, mode=mode)
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old content or the new one, never a part."""
    _atomically(path, lambda out: out.write(data), mode=mode)


def _atomically(path: Path, write: Callable[[BinaryIO], object], *, mode: int) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            os.fchmod(out.fileno(), mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
