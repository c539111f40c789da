"""What the store asks of whatever seals its secrets."""

from __future__ import annotations

from typing import Protocol


class TextSealer(Protocol):
    """Encrypts secrets the store keeps at rest (the composition root gives one)."""

    def seal(self, text: str) -> str: ...

    def unseal(self, token: str) -> str: ...
