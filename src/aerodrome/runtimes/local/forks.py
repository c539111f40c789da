"""The control plane's side of an environment's fork server (forkserver.py): whether an environment
uses one, the process that runs it, and asking it to start a component.

Components forked from one process that imported Airflow share those imports' memory copy-on-write:
an idle Airflow 3 environment's processes take about a quarter less memory. Components of an
environment with a startup script, or of Airflow 2, are started as before, each after its own run of the script
(what the script exports, PYTHONPATH or LD_LIBRARY_PATH say, must reach the component's start).
`aerodrome.fork_server` = False in AirflowConfigurationOptions starts every component on its own.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import files

OPTION = "aerodrome.fork_server"
NAME = "forkserver"
SPAWN_TIMEOUT = 10.0
SOCKET_LIMIT = 107  # bytes in a Unix socket's path
# Airflow 2's components start on their own: forked from a server that preloaded it, its scheduler
# lost its database connection at its first commit and its CLI lacked the Celery commands.
AIRFLOW = 3
# What every component imports at its start: the shared part of their memory.
PRELOAD = ("airflow.models", "airflow.serialization.serialized_objects", "airflow.jobs.scheduler_job_runner",
           "airflow.dag_processing.manager", "airflow.api_fastapi.app",
           "airflow.providers.celery.executors.celery_executor", "airflow.cli.cli_parser", "airflow.sdk",
           "celery", "fastapi", "uvicorn")


class Refused(Exception):
    """The fork server could not start the component (the caller starts it on its own)."""


def wanted(spec: EnvironmentSpec, placement: Placement, *, startup_script: bool) -> bool:
    chosen = spec.airflow_configuration_options.get(OPTION, "True").strip().lower()
    fits = len(str(socket_path(placement)).encode()) <= SOCKET_LIMIT
    return (fits and not startup_script and chosen not in ("false", "0", "no", "off")
            and int(spec.airflow_version.split(".")[0]) >= AIRFLOW)


def socket_path(placement: Placement) -> Path:
    return placement.root / "run" / "fork" / "server.sock"


def prepare(placement: Placement, user: str | None) -> None:
    """The socket's folder, which the fork server (running as the environment's user) writes."""
    folder = socket_path(placement).parent
    folder.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(folder, *files.ids(user))


def argv(placement: Placement, *, python: Path) -> list[str]:
    """The fork server's command line (its script copied where the environment's user can read it)."""
    return [str(python), str(_script_copy(placement)), "--socket", str(socket_path(placement)),
            "--preload", ",".join(PRELOAD)]


def ready(path: Path) -> bool:
    """Whether a fork server listens at `path` (it binds only once it has preloaded)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def await_ready(path: Path, *, timeout: float, running: Callable[[], bool] = lambda: True) -> bool:
    """Until the fork server at `path` listens (False after `timeout`, or once `running()` is false)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready(path):
            return True
        if not running():
            return False
        time.sleep(0.2)
    return False


def spawn(path: Path, *, argv: list[str], env: dict[str, str], cwd: Path, log: int) -> int:
    """The pid of the component the fork server at `path` forked, writing to the open file `log`;
    Refused if it did not."""
    request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(SPAWN_TIMEOUT)
            connection.connect(str(path))
            sent = socket.send_fds(connection, [request], [log])
            connection.sendall(request[sent:])
            connection.shutdown(socket.SHUT_WR)
            answer = json.loads(b"".join(iter(lambda: connection.recv(65536), b"")) or b"{}")
    except (OSError, ValueError) as exc:
        raise Refused(f"the fork server does not answer ({type(exc).__name__}: {exc})") from None
    if not isinstance(answer.get("pid"), int):
        raise Refused(str(answer.get("error", "no pid in its answer")))
    return answer["pid"]


def _script_copy(placement: Placement) -> Path:
    from aerodrome.runtimes.local import forkserver

    return files.readable_copy(Path(forkserver.__file__), placement.root / "run" / "aerodrome-forkserver.py")
