"""A joined remote worker host's view of its environment's bucket, read through the control plane.

The control plane lists and reads, for a host that shows its join token, only the environment's DAG
files and its pinned plugins, requirements and startup script (services/worker_tokens.py). The host
holds no bucket credentials: a revoked token ends its reads with its broker access. Read-only: the
writing half of the Bucket protocol refuses.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from aerodrome import errors
from aerodrome.bundles.base import ObjectInfo

PREFIX = "/aerodrome/v1/workers"
TIMEOUT = 60.0


class PlaneBucket:
    def __init__(self, endpoint: str, *, token: str, host: str, name: str = "environment",
                 verify: str | bool = True):
        self.name = name
        self._token = token
        self._host = host
        self._client = httpx.Client(base_url=endpoint.rstrip("/"), timeout=TIMEOUT, verify=verify)

    def __repr__(self) -> str:
        return f"PlaneBucket({self.name!r})"  # never the token

    def close(self) -> None:
        self._client.close()

    def exists(self) -> bool:
        return True

    def list(self, prefix: str) -> list[ObjectInfo]:
        reply = self._post("/objects", {})
        return sorted((ObjectInfo(key=o["Key"], etag=o["ETag"], size=o["Size"]) for o in reply["Objects"]
                       if o["Key"].startswith(prefix)), key=lambda o: o.key)

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        return next((o for o in self.list(key) if o.key == key), None)

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        """The object's bytes (a pinned file at its pinned version: the plane picks it)."""
        return base64.b64decode(self._post("/object", {"Key": key})["Body"])

    def get_file(self, key: str, path: Path) -> ObjectInfo:
        data = self.get(key)
        path.write_bytes(data)
        return ObjectInfo(key=key, etag="", size=len(data))

    def put(self, key: str, data: bytes) -> ObjectInfo:
        raise errors.AccessDenied("A worker host reads its environment's bucket; it writes nothing there.")

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        return self.put(key, b"")

    def delete(self, key: str) -> None:
        self.put(key, b"")

    def _post(self, path: str, body: dict) -> dict:
        try:
            reply = self._client.post(PREFIX + path, json={"Token": self._token, "Host": self._host, **body})
        except httpx.TransportError as exc:
            raise errors.Temporary(f"the control plane does not answer: {exc}") from exc
        if reply.status_code == 200:
            return dict(reply.json())
        raise error_of(reply)


def error_of(reply: httpx.Response) -> errors.AerodromeError:
    """The domain error an Aerodrome API error reply stands for."""
    try:
        message = str(reply.json().get("message", reply.text))
    except ValueError:
        message = reply.text[:300]
    if reply.status_code == 403:
        return errors.AccessDenied(message)
    if reply.status_code == 404:
        return errors.NotFound(message)
    if reply.status_code == 400:
        return errors.Invalid(message)
    return errors.Temporary(f"the control plane answered {reply.status_code}: {message}")
