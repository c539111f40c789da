"""The console's listener: uvicorn on the API's host and `console_port`, HTTPS with the plane's CA
when web_tls is on; and `/console` on the API's port sends browsers there (single sign-on returns
them to the API's port)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp

from aerodrome.auth import tls
from aerodrome.console.sessions import ConsoleSessions
from aerodrome.web.incoming import Incoming

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)


class ConsoleServer:
    def __init__(self, app: ASGIApp, *, sessions: ConsoleSessions, host: str, port: int,
                 tls_files: tls.TlsFiles | None):
        self._app = app
        self._sessions = sessions
        self._host = host
        self._port = port
        self._tls = tls_files
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        options: dict = {}
        if self._tls is not None:
            options = {"ssl_certfile": str(self._tls.cert), "ssl_keyfile": str(self._tls.key)}
        config = uvicorn.Config(self._app, host=self._host, port=self._port, log_level="warning", access_log=False,
                                lifespan="off", **options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="console", daemon=True)
        self._thread.start()
        log.info("web console on %s:%s", self._host, self._port)

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._sessions.close()


def is_console_page(request: Incoming) -> bool:
    return request.method == "GET" and request.path in ("/console", "/console/")


def console_redirect(console_url: str) -> ASGIApp:
    """GET /console on the API's port, answered by a redirect to the console's own listener."""
    return RedirectResponse(console_url, status_code=303)
