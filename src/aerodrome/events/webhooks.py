"""Webhook delivery: one thread per configured URL, at least once, in outbox order.

Each webhook has its own cursor (the last outbox sequence it acknowledged with a 2xx), so a
receiver that is down holds back only its own deliveries; they resume, in order, when it answers
again. A failed delivery is retried with capped exponential backoff, forever: later events are
never sent past an undelivered one. Bodies are signed with HMAC-SHA256 (header
`X-Aerodrome-Signature-256: sha256=<hex>`, as GitHub signs its webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from typing import Protocol
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Aerodrome-Signature-256"
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


class EventSource(Protocol):
    """What webhook delivery needs from the outbox (services.events implements it)."""

    def open_cursor(self, sink: str) -> None:
        """Start `sink` at the newest event unless it already has a position."""

    def pending(self, sink: str, *, limit: int) -> list[tuple[int, dict]]:
        """(sequence, EventBridge-shaped event) not yet acknowledged by `sink`, oldest first."""

    def acknowledge(self, sink: str, sequence: int) -> None: ...


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """For receivers: does `header` carry the signature of `body`?"""
    return hmac.compare_digest(sign(secret, body), header or "")


class WebhookSender:
    """Delivers the outbox to one URL from a background thread until `stop()`."""

    def __init__(self, url: str, *, source: EventSource, secret: str, poll_interval: float = 0.2,
                 timeout: float = 10.0):
        self.url = url
        # the URL may carry a token: the cursor key is its digest, logs show only the host
        self.sink = "webhook:" + hashlib.sha256(url.encode()).hexdigest()[:24]
        self._label = urlsplit(url).netloc
        self._source = source
        self._secret = secret
        self._poll = poll_interval
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)

    def start(self) -> None:
        self._source.open_cursor(self.sink)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, *, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = self._source.pending(self.sink, limit=100)
            except Exception:
                log.exception("reading the event outbox failed")
                batch = []
            for sequence, event in batch:
                if not self._deliver(sequence, event):
                    return
            if not batch:
                self._wake.wait(self._poll)
                self._wake.clear()

    def _deliver(self, sequence: int, event: dict) -> bool:
        """Send until acknowledged; False only when stopping."""
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, body),
                   "X-Aerodrome-Event-Id": event["id"], "X-Aerodrome-Sequence": str(sequence)}
        backoff = FIRST_BACKOFF
        while not self._stopping.is_set():
            try:
                reply = self._client.post(self.url, content=body, headers=headers)
                if 200 <= reply.status_code < 300:
                    self._source.acknowledge(self.sink, sequence)
                    return True
                problem = f"HTTP {reply.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            log.warning("webhook at %s refused event %d (%s); retrying in %.1f s",
                        self._label, sequence, problem, backoff)
            if self._stopping.wait(backoff):
                return False
            backoff = min(MAX_BACKOFF, backoff * 2)
        return False
