"""A real HTTP server that records webhook deliveries (tests only)."""

import contextlib
import http.server
import json
import threading

from tests.support import free_port


class Receiver:
    def __init__(self, *, fail_first: int = 0):
        self.deliveries: list[tuple[dict, bytes, dict]] = []  # (event, raw body, headers)
        self.refused = 0
        self._fail_first = fail_first
        self._lock = threading.Lock()
        self.url = ""

    def events(self) -> list[dict]:
        with self._lock:
            return [event for event, _, _ in self.deliveries]

    def handle(self, body: bytes, headers: dict) -> int:
        with self._lock:
            if self.refused < self._fail_first:
                self.refused += 1
                return 503
            self.deliveries.append((json.loads(body), body, headers))
            return 204


@contextlib.contextmanager
def receiver(*, fail_first: int = 0):
    state = Receiver(fail_first=fail_first)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(state.handle(body, {k.lower(): v for k, v in self.headers.items()}))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook?token=t0ps3cret"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def has_client(pid: int, port: int) -> bool:
    """Process `pid` (an event follower) holds an established connection to `port` on this host."""
    import psutil

    try:
        connections = psutil.Process(pid).net_connections("tcp")
    except psutil.Error:
        return False
    return any(c.raddr and c.raddr.port == port and c.status == "ESTABLISHED" for c in connections)
