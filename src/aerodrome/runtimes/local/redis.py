"""One Redis server per host (embedded binary or an external URL); a database number per environment."""

from __future__ import annotations

import os
import socket
import threading
import time
from urllib.parse import quote, urlsplit

from aerodrome import errors
from aerodrome.runtimes.local import binaries, files
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor
from aerodrome.settings import Settings


class Redis:
    def __init__(self, settings: Settings, supervisor: Supervisor):
        self._settings = settings
        self._supervisor = supervisor
        self._dir = settings.services_dir / "redis"
        self._lock = threading.Lock()
        self._host, self._port, self._password = "127.0.0.1", 0, ""
        if settings.redis_url:
            url = urlsplit(settings.redis_url)
            self._host, self._port, self._password = url.hostname or "127.0.0.1", url.port or 6379, url.password or ""

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    def ensure_running(self) -> None:
        if self._settings.redis_url:
            return
        with self._lock:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._password = files.secret(self._dir / "password.secret")
            self._port = files.persisted_port(self._dir / "port", self._settings, low=16379, high=16999)
            config = self._dir / "redis.conf"
            config.write_text(
                f"bind 127.0.0.1\nport {self._port}\nrequirepass {self._password}\ndatabases 1024\n"
                f"dir {self._dir}\nsave \"\"\nappendonly no\nprotected-mode yes\n")
            config.chmod(0o600)
            self._supervisor.ensure(ProcessSpec(
                name="host/redis", argv=[str(binaries.redis_server()), str(config)],
                env={"PATH": os.environ.get("PATH", "")}, log_file=self._settings.logs_dir / "redis.log",
                pid_file=self._dir / "supervised.pid", fingerprint=str(self._port)))
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.command("PING") == "PONG":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise errors.Permanent(f"Redis did not start on {self.address} "
                                       f"(log: {self._settings.logs_dir / 'redis.log'}).")
            time.sleep(0.1)

    def url(self, database: int) -> str:
        return f"redis://:{quote(self._password, safe='')}@{self.address}/{database}"

    def flush(self, database: int) -> None:
        self.command("SELECT", str(database), "FLUSHDB")

    def size(self, database: int) -> int:
        return int(self.command("SELECT", str(database), "DBSIZE"))

    def command(self, *words: str) -> str:
        """Send commands (SELECT db + one more is allowed) and return the last reply as text."""
        commands = [list(words)] if words[0] != "SELECT" else [list(words[:2]), list(words[2:])]
        if self._password:
            commands.insert(0, ["AUTH", self._password])
        with socket.create_connection((self._host, self._port), timeout=5) as sock:
            payload = b"".join(_encode(c) for c in commands)
            sock.sendall(payload)
            reply = b""
            while reply.count(b"\r\n") < len(commands):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        last = reply.split(b"\r\n")[-2].decode()
        if last.startswith("-"):
            raise errors.Permanent(f"Redis: {last[1:]}")
        return last[1:]


def _encode(words: list[str]) -> bytes:
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(out)
