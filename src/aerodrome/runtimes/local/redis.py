"""The environments' Celery brokers.

Embedded (the default): every environment has a Redis server of its own. It listens on a Unix socket
in the environment's run folder only (no TCP port), asks for a password of its own, and runs as the
environment's OS user where there is one, with the socket readable by that user alone. So code in one
environment cannot read or inject another environment's Celery messages.

External (`settings.redis_url`): one server for every environment, each with a database number on it
(the placement's `broker_db`); keeping environments apart is then up to that server.

Remote worker hosts reach an embedded broker through a TLS door (broker_door.py), each as a Redis
ACL user of its own (`admit_host`), kept in `secrets/broker_hosts.json` and set again whenever the
server starts. `dismiss_host` deletes the user, which ends its connections at once. A host's user
reaches only the keys of its queue, Celery's bookkeeping and the task results (`host_keys`): the
result backend of Airflow 3 environments is this broker (airflow_env.py), so a remote worker needs
no database.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local import binaries, files
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor
from aerodrome.settings import Settings

NAME = "broker"  # the supervised name within an environment: "<env id>/broker"
START_TIMEOUT = 30.0
SOCKET_LIMIT = 104  # bytes in a Unix socket path, with room to spare on every platform


class Brokers:
    def __init__(self, settings: Settings, supervisor: Supervisor):
        self._settings = settings
        self._supervisor = supervisor
        self._external = urlsplit(settings.redis_url) if settings.redis_url else None

    def ensure(self, placement: Placement, *, user: str | None = None) -> str:
        """The environment's broker URL; its embedded server is started first if need be."""
        if self._external is not None:
            return self._external_url(placement)
        sock, password = broker_socket(placement), files.secret(placement.root / "secrets" / "broker.secret")
        if len(str(sock).encode()) > SOCKET_LIMIT:
            raise errors.Permanent(f"The environment's broker socket path is longer than {SOCKET_LIMIT} bytes "
                                   f"({sock}); give Aerodrome a shorter home (AERODROME_HOME).")
        folder = sock.parent
        folder.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chown(folder, *files.ids(user))
        config = placement.root / "secrets" / "broker.conf"
        files.write_private(config, (
            f"port 0\nunixsocket {sock}\nunixsocketperm 700\nrequirepass {password}\ndatabases 1\n"
            f"dir {folder}\nsave \"\"\nappendonly no\n"), owner=user)
        self._supervisor.ensure(ProcessSpec(
            name=f"{placement.env_id}/{NAME}", argv=[str(binaries.redis_server()), str(config)],
            env={"PATH": os.environ.get("PATH", "")}, cwd=folder, log_file=placement.logs_dir / "broker.log",
            pid_file=placement.root / "run" / "broker.pid", user=user,
            fingerprint=str(sock) + str(user)))
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(sock, password):
            if time.monotonic() > deadline:
                raise errors.Temporary(f"the broker did not answer within {START_TIMEOUT:.0f} s "
                                       f"(log: {placement.logs_dir / 'broker.log'})")
            time.sleep(0.05)
        for user, grant in _hosts(placement).items():  # users live in the server's memory only
            _set_user(sock, password, user, grant)
        return f"redis+socket://:{quote(password, safe='')}@{sock}"

    def flush(self, placement: Placement) -> None:
        """Empty the environment's broker (a running embedded server; a stopped one holds nothing)."""
        if self._external is not None:
            command(self._external_address(), self._external.password or "", "SELECT",
                    str(placement.broker_db), "FLUSHDB")
            return
        sock = broker_socket(placement)
        if sock.exists():
            password = files.secret(placement.root / "secrets" / "broker.secret")
            with contextlib.suppress(OSError):  # a server that does not answer holds nothing
                command(str(sock), password, "FLUSHALL")

    def admit_host(self, placement: Placement, user: str, password: str, *, queue: str) -> None:
        """Let a remote worker host in as ACL user `user` for `queue` (any earlier password is replaced)."""
        if self._external is not None:
            raise errors.Permanent("Remote worker hosts need the embedded broker; this control plane uses "
                                   "an external one (AERODROME_REDIS_URL).")
        hosts = {**_hosts(placement), user: {"password": password, "queue": queue}}
        files.write_private(_hosts_file(placement), json.dumps(hosts))
        sock = broker_socket(placement)
        if not _answers(sock, files.secret(placement.root / "secrets" / "broker.secret")):
            raise errors.Temporary("the environment's broker is not running; join again once it is AVAILABLE")
        _set_user(sock, files.secret(placement.root / "secrets" / "broker.secret"), user, hosts[user])

    def has_hosts(self, placement: Placement) -> bool:
        """Whether any remote worker host is let into the environment's broker."""
        return bool(_hosts(placement))

    def dismiss_host(self, placement: Placement, user: str) -> None:
        """Delete a remote worker host's ACL user; its open connections end at once."""
        hosts = _hosts(placement)
        if hosts.pop(user, None) is not None:
            files.write_private(_hosts_file(placement), json.dumps(hosts))
        sock = broker_socket(placement)
        if self._external is None and sock.exists():
            with contextlib.suppress(OSError):  # a stopped server forgot it already
                command(str(sock), files.secret(placement.root / "secrets" / "broker.secret"),
                        "ACL", "DELUSER", user)

    def ping_external(self) -> None:
        """An external server answers (raises errors.Permanent otherwise); nothing when embedded."""
        if self._external is not None:
            try:
                command(self._external_address(), self._external.password or "", "PING")
            except OSError as exc:
                raise errors.Permanent(f"Redis at {self._external.hostname}:{self._external.port or 6379} "
                                       f"does not answer: {exc}") from exc

    def _external_address(self) -> tuple[str, int]:
        assert self._external is not None
        return self._external.hostname or "127.0.0.1", self._external.port or 6379

    def _external_url(self, placement: Placement) -> str:
        assert self._external is not None
        host, port = self._external_address()
        password = self._external.password or ""
        credentials = f":{quote(password, safe='')}@" if password else ""
        return f"redis://{credentials}{host}:{port}/{placement.broker_db}"


def broker_socket(placement: Placement) -> Path:
    return placement.root / "run" / "broker" / "redis.sock"


def _hosts_file(placement: Placement) -> Path:
    return placement.root / "secrets" / "broker_hosts.json"


def _hosts(placement: Placement) -> dict[str, dict]:
    """user -> {"password", "queue"} (hosts let in before queues were kept: a password alone)."""
    try:
        hosts = dict(json.loads(_hosts_file(placement).read_text()))
    except (OSError, ValueError):
        return {}
    return {user: grant if isinstance(grant, dict) else {"password": grant} for user, grant in hosts.items()}


# Kombu's Redis transport keeps a queue's messages in the list named like the queue, and in one list
# per priority step (the name, "\x06\x16", the step); its bindings, unacknowledged messages and
# their lock under the names below; remote control (a worker's own mailbox, the replies it asks
# for) in queues named *.celery.pidbox. Celery's Redis result backend writes celery-task-meta-<id>.
_BOOKKEEPING = ("_kombu.binding.*", "unacked", "unacked_index", "unacked_mutex", "celery-task-meta-*",
                "*.celery.pidbox*")
PRIORITY_SEPARATOR = "\x06\x16"


def host_keys(queue: str | None) -> list[str]:
    """The key patterns a host's user may touch: its queue's lists and Celery's bookkeeping (every
    key for a host let in before queues were kept)."""
    if queue is None:
        return ["*"]
    return [queue, f"{queue}{PRIORITY_SEPARATOR}*", *_BOOKKEEPING]


def _set_user(sock: Path, password: str, user: str, grant: dict) -> None:
    """A worker host's user: Celery's commands on its keys (host_keys) and on every channel (remote
    control and events are broadcasts), nothing of the server's administration (ACL, CONFIG,
    SHUTDOWN, ...), no flushing and no listing of keys."""
    keys = [f"~{pattern}" for pattern in host_keys(grant.get("queue"))]
    command(str(sock), password, "ACL", "SETUSER", user, "reset", "on", f">{grant['password']}", *keys, "&*",
            "+@all", "-@admin", "-flushall", "-flushdb", "-keys", "-scan")


def _answers(sock: Path, password: str) -> bool:
    try:
        return command(str(sock), password, "PING") == "PONG"
    except (OSError, errors.Permanent):
        return False


def command(address: str | tuple[str, int], password: str, *words: str) -> str:
    """Send one command (or SELECT db + one more) to Redis at a Unix socket path or (host, port); the
    last reply as text."""
    commands = [list(words)] if words[0] != "SELECT" else [list(words[:2]), list(words[2:])]
    if password:
        commands.insert(0, ["AUTH", password])
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(address)
        sock.sendall(b"".join(_encode(c) for c in commands))
        reply = b""
        while reply.count(b"\r\n") < len(commands):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    lines = reply.split(b"\r\n")
    if len(lines) < 2:
        raise OSError("Redis closed the connection without answering")
    last = lines[-2].decode()
    if last.startswith("-"):
        raise errors.Permanent(f"Redis: {last[1:]}")
    return last[1:]


def _encode(words: list[str]) -> bytes:
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(out)
