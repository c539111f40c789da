"""InvokeRestApi's call to Airflow: a web server that refuses connections for a moment (restarting
in a rolling update) is waited for; a request that may have been acted on is never sent twice."""

import http.server
import socket
import threading
import time

import httpx
import pytest

from aerodrome.services.rest_api import send
from tests.support import free_port


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_web_server_that_starts_late_is_waited_for():
    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), Answer)
    starter = threading.Timer(1.0, server.serve_forever)
    starter.start()
    try:
        started = time.monotonic()
        assert send("GET", f"http://127.0.0.1:{port}/api/v2/dags", params=None, body=None, headers={},
                    patience=10) == (200, b'{"ok": true}')
        assert time.monotonic() - started >= 0.9
    finally:
        server.shutdown()
        server.server_close()


def test_patience_ends_with_the_connection_error():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(httpx.ConnectError):
        send("GET", f"http://127.0.0.1:{port}/api/v2/dags", params=None, body=None, headers={}, patience=1)
    assert 0.4 <= time.monotonic() - started < 5


@pytest.mark.parametrize(("method", "repeated"), [("POST", False), ("GET", True)])
def test_a_dropped_request_is_repeated_only_when_idempotent(method, repeated):
    """The server reads each request and closes the connection without an answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen = []

    def drop():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            seen.append(connection.recv(65536).split(b" ", 1)[0])
            connection.close()

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    with pytest.raises(httpx.RemoteProtocolError):
        send(method, f"http://127.0.0.1:{port}/api/v2/dags/x/dagRuns", params=None, body={"a": 1}, headers={},
             patience=1.2)
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
    listener.close()
    thread.join(5)
    assert not thread.is_alive()
    assert set(seen) == {method.encode()}
    assert (len(seen) > 1) is repeated, seen
