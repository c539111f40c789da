"""Placing an environment on this host: an id, a folder, two free ports and a broker database."""

from __future__ import annotations

import secrets
from collections.abc import Collection

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.runtimes import ports
from aerodrome.settings import Settings

MAX_BROKER_DB = 1023  # Redis database numbers; 0 stays unused


class HostPlacements:
    def __init__(self, settings: Settings):
        self._settings = settings

    def place(self, existing: Collection[Placement]) -> Placement:
        """What no placement in `existing` holds. A placement is released with its environment: once
        the store forgets it, its ports and broker database are free again."""
        env_id = secrets.token_hex(4)
        used_ports = {p.web_port for p in existing} | {p.endpoint_port for p in existing}
        used_dbs = {p.broker_db for p in existing}
        broker_db = next((n for n in range(1, MAX_BROKER_DB + 1) if n not in used_dbs), None)
        if broker_db is None:
            raise errors.Invalid(f"This host runs the most environments it can ({MAX_BROKER_DB}).")
        port = ports.allocate_port(self._settings, exclude=used_ports)
        gateway_port = ports.allocate_port(self._settings, exclude=used_ports | {port})
        return Placement(env_id=env_id, root=self._settings.environments_dir / env_id, web_port=port,
                         broker_db=broker_db, gateway_port=gateway_port)
