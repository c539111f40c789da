"""Sealing small secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256) with a key kept by the
control plane, so a bucket holding a snapshot does not hold its secrets in the clear."""

from __future__ import annotations

import os
from pathlib import Path

from aerodrome import errors


def _key(key_file: Path) -> bytes:
    if not key_file.exists():
        from cryptography.fernet import Fernet

        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return key_file.read_bytes().strip()


class Sealer:
    """Seals short texts with the key in `key_file` (made on first use, mode 0600): the store keeps
    access keys' secrets this way, so a copy of its file alone gives none of them away."""

    def __init__(self, key_file: Path):
        self._key_file = key_file

    def seal(self, text: str) -> str:
        return seal(text.encode(), key_file=self._key_file).decode()

    def unseal(self, token: str) -> str:
        return unseal(token.encode(), key_file=self._key_file, what="A stored secret").decode()


def seal(data: bytes, *, key_file: Path) -> bytes:
    from cryptography.fernet import Fernet

    return Fernet(_key(key_file)).encrypt(data)


def unseal(token: bytes, *, key_file: Path, what: str) -> bytes:
    from cryptography.fernet import Fernet, InvalidToken

    try:
        return Fernet(_key(key_file)).decrypt(token)
    except (InvalidToken, ValueError):
        raise errors.Invalid(f"{what}: the secrets were sealed with another control plane's key "
                             f"({key_file.name}); copy that key here to load it. Nothing was changed.") from None
