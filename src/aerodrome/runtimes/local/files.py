"""Small files the local runtime keeps: generated secrets (0600) and persisted port choices."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from aerodrome.runtimes import ports
from aerodrome.settings import Settings


def secret(path: Path, *, make: Callable[[], str] = lambda: secrets.token_hex(24)) -> str:
    """Read a secret, generating and storing it (mode 0600) the first time."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def persisted_port(path: Path, settings: Settings, *, low: int = 15432, high: int = 15999) -> int:
    if path.exists():
        return int(path.read_text())
    port = ports.allocate_port(settings.replace(env_port_min=low, env_port_max=high))
    path.write_text(str(port))
    return port


def write_private(path: Path, text: str, *, owner: str | None = None) -> None:
    """Write `text` to `path` readable by its owner alone (the control plane's user, or `owner`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if owner is not None:
        os.chown(temporary, *ids(owner))
    temporary.replace(path)


def ids(user: str) -> tuple[int, int]:
    """(uid, gid) of a system user."""
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def readable_copy(source: Path, copy: Path) -> Path:
    """`copy` holding `source`'s bytes (mode 0644), replaced atomically when they differ: a script of
    ours the environment's OS user can read wherever Aerodrome itself is installed."""
    text = source.read_bytes()
    if not copy.exists() or copy.read_bytes() != text:
        copy.parent.mkdir(parents=True, exist_ok=True)
        temporary = copy.with_suffix(".tmp")
        temporary.write_bytes(text)
        temporary.chmod(0o644)
        temporary.replace(copy)
    return copy
