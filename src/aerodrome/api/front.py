"""The plane's one ASGI app. Each HTTP request is read once (web/incoming.py) and goes to the first
app whose rule takes it, otherwise to the default app (the MWAA API); the rules look only at what
`Incoming` holds. Every answer leaves only once the audit entries appended before it would survive
a crash: the response's first message waits for the audit journal's sync (one sync serves every
request waiting on it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aerodrome.web.incoming import Incoming, incoming

Rule = Callable[[Incoming], bool]


class Settles(Protocol):
    async def settled(self) -> None: ...


def build_front(routes: Sequence[tuple[Rule, ASGIApp]], default: ASGIApp, *,
                audit: Settles | None = None) -> ASGIApp:
    routes = tuple(routes)

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await default(scope, receive, send)
            return
        request = incoming(scope)
        app = default
        for takes, routed in routes:
            if takes(request):
                app = routed
                break
        if audit is None:
            await app(scope, receive, send)
            return

        async def send_settled(message: Message) -> None:
            if message["type"] == "http.response.start":
                await audit.settled()
            await send(message)

        await app(scope, receive, send_settled)

    return front
