"""A small client for the Aerodrome API of the running control plane, SigV4-signed with the
admin credentials (as boto3 signs MWAA requests)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from aerodrome.settings import Settings

PREFIX = "/aerodrome/v1"


class ExtClient:
    def __init__(self, settings: Settings, *, access_key: tuple[str, str] | None = None):
        """Signs with `access_key` (id, secret), or the admin key `client-env` prints."""
        from aerodrome.cli.client_env import client_env_vars

        values = client_env_vars(settings)
        self.base = values["AWS_ENDPOINT_URL_MWAA"].rstrip("/")
        key_id, secret = access_key or (values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"])
        self._credentials = Credentials(key_id, secret)
        self._region = values["AWS_DEFAULT_REGION"]

    def request(self, method: str, path: str, *, query: dict | None = None, body: dict | None = None,
                timeout: float = 30.0) -> dict:
        url, headers, content = self._signed(method, path, query, body)
        reply = httpx.request(method, url, headers=headers, content=content, timeout=timeout)
        data = reply.json() if reply.content else {}
        if reply.status_code >= 400:
            raise ExtError(data.get("message") or f"HTTP {reply.status_code}", code=data.get("code", ""))
        return data

    def stream(self, path: str, *, query: dict | None = None) -> Iterator[tuple[str, str]]:
        """Server-sent events as (id, data) pairs, until the server ends the stream."""
        url, headers, _ = self._signed("GET", path, query, None)
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10.0, read=None)) as reply:
            if reply.status_code >= 400:
                reply.read()
                raise ExtError(reply.json().get("message", f"HTTP {reply.status_code}"))
            event_id, data = "", []
            for line in reply.iter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    yield event_id, "\n".join(data)
                    data = []

    def _signed(self, method: str, path: str, query: dict | None, body: dict | None) -> tuple[str, dict, bytes]:
        url = f"{self.base}{PREFIX}{path}"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        content = json.dumps(body).encode() if body is not None else b""
        aws = AWSRequest(method=method, url=url, data=content,
                         headers={"Content-Type": "application/json"} if body is not None else {})
        SigV4Auth(self._credentials, "airflow", self._region).add_auth(aws)
        return url, dict(aws.headers.items()), content


class ExtError(Exception):
    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


def reporting(command: str, client: ExtClient, work: Callable[[], int]) -> int:
    """Run `work()`; API errors and an absent control plane become one line on stderr and exit 1."""
    try:
        return work()
    except ExtError as exc:
        print(f"aerodrome {command}: {exc}", file=sys.stderr)
    except httpx.TransportError:
        print(f"aerodrome {command}: no control plane answers at {client.base}; start one with `aerodrome up`.",
              file=sys.stderr)
    except KeyboardInterrupt:
        return 0
    return 1
