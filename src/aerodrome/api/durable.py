"""Answers leave only once the audit entries written before them would survive a crash: the
response's first message waits for the audit journal's sync (one sync serves every request
waiting on it)."""

from __future__ import annotations

from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Settles(Protocol):
    async def settled(self) -> None: ...


def with_durable_audit(app: ASGIApp, audit: Settles) -> ASGIApp:
    async def durable(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_settled(message: Message) -> None:
            if message["type"] == "http.response.start":
                await audit.settled()
            await send(message)

        await app(scope, receive, send_settled)

    return durable
