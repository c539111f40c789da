"""Where an environment's broker and metadata database answer, without credentials.

The runtime writes `endpoints.json` in the environment's folder when it wires the environment; the
API shows these as CeleryExecutorQueue and DatabaseVpcEndpointService."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

FILE = "endpoints.json"


def without_password(url: str) -> str:
    """`redis://:pw@h:1/3` -> `redis://h:1/3`; `redis+socket://:pw@/run/redis.sock` ->
    `redis+socket:///run/redis.sock`; `postgresql+psycopg2://u:pw@h:5/db` -> `postgresql://u@h:5/db`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    scheme = parts.scheme if parts.scheme == "redis+socket" else parts.scheme.split("+")[0]
    return f"{scheme}://{netloc}{parts.path}"


def write(root: Path, *, broker_url: str, database_url: str) -> None:
    data = {"broker": without_password(broker_url), "database": without_password(database_url)}
    path = root / FILE
    if not path.exists() or json.loads(path.read_text()) != data:
        path.write_text(json.dumps(data))


def read(root: Path) -> dict[str, str]:
    try:
        return json.loads((root / FILE).read_text())
    except (OSError, ValueError):
        return {}
