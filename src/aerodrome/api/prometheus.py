"""GET /metrics: every environment's metrics in Prometheus' text format (telemetry.prometheus), for a
scraper that shows the control plane's scrape token as `Authorization: Bearer <token>` (the token is
home/metrics-scrape.token; Prometheus reads it with `authorization: {credentials_file: ...}`)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome.web.incoming import Incoming, incoming

PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def is_scrape(request: Incoming) -> bool:
    return request.path == PATH and request.method == "GET"


def build_prometheus_app(*, render: Callable[[], bytes], token: str) -> ASGIApp:
    expected = f"Bearer {token}".encode()

    async def scrape(scope: Scope, receive: Receive, send: Send) -> None:
        given = incoming(scope).header(b"authorization")
        response: Response
        if not hmac.compare_digest(given, expected):
            response = PlainTextResponse("Show the scrape token: Authorization: Bearer <home/metrics-scrape.token>.\n",
                                         status_code=401, headers={"WWW-Authenticate": "Bearer"})
        else:
            response = Response(await run_in_threadpool(render), media_type=CONTENT_TYPE)
        await response(scope, receive, send)

    return scrape
