"""Runs one web endpoint per environment (uvicorn, HTTPS by default) and keeps the set in step
with the store: a loop starts endpoints for new environments, restarts one whose access mode
changed, and stops those of deleted environments."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aerodrome import errors
from aerodrome.auth import tls
from aerodrome.gateway.app import build_gateway_app
from aerodrome.services.access import AccessService
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.sso import SingleSignOn
from aerodrome.settings import Settings

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)
PRIVATE = "127.0.0.1"


@dataclass
class _Running:
    bind: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread


class Gateways:
    def __init__(self, settings: Settings, *, environments: EnvironmentService, access: AccessService,
                 sso: SingleSignOn | None = None, interval: float = 1.0) -> None:
        self._settings = settings
        self._environments = environments
        self._access = access
        self._sso = sso
        self._interval = interval
        self._running: dict[str, _Running] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.tls: tls.TlsFiles | None = None

    def start(self) -> None:
        if self._settings.web_tls:
            names = (self._settings.web_hostname, self._settings.endpoint_host, "localhost", "127.0.0.1")
            self.tls = tls.ensure(self._settings.tls_dir, hostnames=tuple(dict.fromkeys(names)))
        self.sync()
        self._thread = threading.Thread(target=self._loop, name="gateways", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for name in list(self._running):
            self._stop_one(name)

    def sync(self) -> None:
        wanted = self._wanted()
        for name in [n for n, r in self._running.items() if not r.thread.is_alive()]:
            del self._running[name]  # it could not bind (or crashed): start it again below
        for name in [n for n in self._running if n not in wanted or wanted[n] != self._key(n)]:
            self._stop_one(name)
        for name, (bind, port) in wanted.items():
            if name not in self._running:
                self._start_one(name, bind, port)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync()
            except Exception:  # keep serving the others; the next round retries
                log.exception("syncing web endpoints failed")

    def _wanted(self) -> dict[str, tuple[str, int]]:
        wanted, token = {}, None
        while True:
            names, token = self._environments.list_names(max_results=100, next_token=token)
            for name in names:
                try:
                    placement = self._environments.placement(name)
                    mode = self._environments.get(name).spec.webserver_access_mode
                except errors.NotFound:
                    continue
                if placement.gateway_port:
                    bind = self._settings.web_public_host if mode.startswith("PUBLIC") else PRIVATE
                    wanted[name] = (bind, placement.gateway_port)
            if not token:
                return wanted

    def _key(self, name: str) -> tuple[str, int]:
        running = self._running[name]
        return running.bind, running.port

    def _start_one(self, name: str, bind: str, port: int) -> None:
        import uvicorn

        app = build_gateway_app(name, access=self._access, secure=self.tls is not None, sign_on=self._sso)
        options: dict = {}
        if self.tls is not None:
            options = {"ssl_certfile": str(self.tls.cert), "ssl_keyfile": str(self.tls.key)}
        config = uvicorn.Config(app, host=bind, port=port, log_level="warning", access_log=False,
                                lifespan="off", **options)
        server = uvicorn.Server(config)

        async def serve_then_close() -> None:
            try:
                await server.serve()
            finally:
                await app.state.http.aclose()

        def serve() -> None:
            asyncio.run(serve_then_close())

        thread = threading.Thread(target=serve, name=f"gateway-{name}", daemon=True)
        thread.start()
        self._running[name] = _Running(bind, port, server, thread)
        log.info("web endpoint of %s on %s:%s", name, bind, port)

    def _stop_one(self, name: str) -> None:
        running = self._running.pop(name)
        running.server.should_exit = True
        running.thread.join(5)
