"""Free TCP ports on loopback, from the range settings give environments."""

from __future__ import annotations

import socket
from collections.abc import Collection

from aerodrome import errors
from aerodrome.settings import Settings


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def allocate_port(settings: Settings, *, exclude: Collection[int] = ()) -> int:
    for port in range(settings.env_port_min, settings.env_port_max + 1):
        if port not in exclude and is_free(port):
            return port
    raise errors.Invalid(
        f"No free port left in {settings.env_port_min}-{settings.env_port_max}; "
        "delete an environment or widen the range.")
