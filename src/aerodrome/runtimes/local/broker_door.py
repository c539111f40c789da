"""TLS doors to the environments' embedded brokers, for remote worker hosts.

The embedded Redis listens on a Unix socket only and is built without TLS. A door is a TLS listener
in the control plane that pipes each connection to one environment's socket, unchanged: Redis itself
authenticates the connection, with the ACL user of the host that joined (redis.admit_host). Doors
listen on `settings.worker_address` (loopback unless that setting names an address to expose), each
on a port kept in the environment's run folder so a restart opens it where hosts look for it.
Their certificate (server certificate, key and the CA that signed it, which the join answer
carries) comes from `certificates`, given by the composition root.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local.redis import broker_socket
from aerodrome.settings import Settings

OPEN_TIMEOUT = 10.0
CHUNK = 65536
HANDSHAKE_TIMEOUT = 10.0
# address -> (server certificate, its key, the CA certificate), each a PEM file, made for `address`
Certificates = Callable[[str], tuple[Path, Path, Path]]


class BrokerDoors:
    def __init__(self, settings: Settings, *, certificates: Certificates | None = None):
        self._address = settings.worker_address or "127.0.0.1"
        self._certificates = certificates
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: dict[str, asyncio.Server] = {}
        self._clients: dict[str, set[asyncio.Task]] = {}  # each connection's task

    def open(self, placement: Placement) -> tuple[str, int, str]:
        """(address, port, CA certificate in PEM) of the environment's door, opened if need be."""
        if self._certificates is None:
            raise errors.Permanent("This control plane has no certificate for broker doors; remote worker "
                                   "hosts cannot join.")
        with self._lock:
            cert, key, ca = self._certificates(self._address)
            server = self._servers.get(placement.env_id)
            if server is None:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                context.load_cert_chain(cert, key)
                clients = self._clients.setdefault(placement.env_id, set())
                server = self._call(self._serve(broker_socket(placement), _kept_port(placement), context, clients))
                self._servers[placement.env_id] = server
                _port_file(placement).write_text(str(server.sockets[0].getsockname()[1]))
            return self._address, server.sockets[0].getsockname()[1], ca.read_text()

    def shut(self, placement: Placement) -> None:
        """Close the environment's door (its connections end with it)."""
        with self._lock:
            server = self._servers.pop(placement.env_id, None)
            if server is not None and self._loop is not None:
                self._call(_close(server, self._clients.pop(placement.env_id, set())))

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            for env_id, server in self._servers.items():
                self._call(_close(server, self._clients.get(env_id, set())))
            self._servers.clear()
            self._clients.clear()
            loop.call_soon_threadsafe(loop.stop)
            thread.join(OPEN_TIMEOUT)
            loop.close()
            self._loop = self._thread = None

    def _call(self, work):  # type: ignore[no-untyped-def]
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="broker-doors", daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(OPEN_TIMEOUT)

    async def _serve(self, sock: Path, port: int, context: ssl.SSLContext,
                     clients: set[asyncio.Task]) -> asyncio.Server:
        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_unix_connection(str(sock))
            except OSError:  # the environment is not running: the host retries
                writer.close()
                return
            task = asyncio.current_task()
            assert task is not None
            clients.add(task)
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            except asyncio.CancelledError:  # its door closed
                pass
            finally:
                clients.discard(task)
                for end in (writer, up_writer):
                    end.transport.abort()  # at once: a TLS goodbye could outlive the loop

        try:
            return await asyncio.start_server(connected, self._address, port, ssl=context,
                                              ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        except OSError:
            if port == 0:
                raise errors.Permanent(f"No broker door can listen on {self._address}; check "
                                       "AERODROME_WORKER_ADDRESS.") from None
            return await asyncio.start_server(connected, self._address, 0, ssl=context,  # its old port is taken
                                              ssl_handshake_timeout=HANDSHAKE_TIMEOUT)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.transport.abort()  # one side ended: so does the other


async def _close(server: asyncio.Server, clients: set[asyncio.Task]) -> None:
    server.close()
    connections = list(clients)
    for task in connections:  # the open connections end with their door
        task.cancel()
    await asyncio.gather(*connections, return_exceptions=True)
    await server.wait_closed()


def _port_file(placement: Placement) -> Path:
    return placement.root / "run" / "broker_door.port"


def _kept_port(placement: Placement) -> int:
    try:
        return int(_port_file(placement).read_text())
    except (OSError, ValueError):
        return 0
