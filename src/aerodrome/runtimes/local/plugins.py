"""plugins.zip, extracted safely: nothing outside the target, no links, bounded size and file count.

The archive is checked member by member before anything is written, then extracted into a staging
folder (counting the bytes really written, whatever the archive claims) and renamed into place, so
a bad archive leaves no trace and the folder a running environment uses is never touched.
"""

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aerodrome import errors

CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1 << 30  # MWAA recommends plugins.zip below 1 GB
    max_files: int = 10_000


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why this member cannot be extracted, or None."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return f"{name!r} is a symbolic link; plugins.zip may hold only files and folders"
    if "\\" in name or "\x00" in name:
        return f"{name!r} has a backslash or NUL in its name"
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and path.parts[0].endswith(":")):
        return f"{name!r} is an absolute path"
    if ".." in path.parts:
        return f"{name!r} would be written outside the plugins folder"
    return None


def extract(data: bytes, target: Path, *, limits: Limits = Limits(), label: str = "plugins.zip") -> None:
    """Extract `data` (a zip archive) to `target`, which must not exist yet. errors.Permanent says why not."""
    def refuse(why: str) -> errors.Permanent:
        return errors.Permanent(f"{label} was refused: {why}. Fix the archive, upload it, and update the "
                                "environment again; it keeps running its previous plugins.")

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise refuse(f"it is not a zip archive ({exc})") from exc
    members = archive.infolist()
    if len(members) > limits.max_files:
        raise refuse(f"it holds {len(members)} entries, more than the limit of {limits.max_files}")
    for info in members:
        problem = member_problem(info)
        if problem:
            raise refuse(problem)
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _write_members(archive, members, staging, limits, refuse)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], staging: Path, limits: Limits,
                   refuse: Callable[[str], errors.Permanent]) -> None:
    written = 0
    root = staging.resolve()
    for info in members:
        path = (staging / info.filename).resolve()
        if path != root and root not in path.parents:
            raise refuse(f"{info.filename!r} would be written outside the plugins folder")
        if info.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as source, open(path, "wb") as sink:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > limits.max_bytes:
                        raise refuse(f"it expands to more than {limits.max_bytes} bytes")
                    sink.write(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise refuse(f"{info.filename!r} cannot be read ({exc})") from exc
