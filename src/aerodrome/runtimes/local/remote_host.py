"""A remote worker host at work: it prepares what its environment's workers run with and runs
Celery workers until it is told to stop (cli/join.py composes it with the DAG sync and the watch
for a changed spec).

Preparing uses the main host's code and rules: the version's venv (venvs.py, in the host's own
venvs folder), the requirements overlay with its pre-flight, the plugins and the startup script
(contents.py, which wraps the worker's start in the launcher as on the main host). SIGINT or SIGTERM
asks the workers for Celery's warm shutdown (their running tasks finish, they take no new ones); a
second one stops them at once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import contents, files, plugins, remote_worker, venvs, wiring
from aerodrome.runtimes.local.remote_worker import HostFolders, Joined

STARTUP_TIMEOUT = 300.0
POLL = 0.5  # seconds between looks at the workers
Say = Callable[[str], None]


def prepare(joined: Joined, folders: HostFolders, fetch: Callable[[EnvironmentSpec, set[str]], contents.Bundles], *,
            token: str, say: Say) -> tuple[Path, contents.Staged]:
    """(the venv, the staged contents) for the joined environment; errors.Permanent when the host
    cannot build them (an unknown version, requirements that do not resolve, a bad plugins.zip)."""
    spec = joined.spec
    remote_worker.check_version(spec.airflow_version)
    venv = venvs.ensure_venv(folders.venvs, spec.airflow_version, progress=say)
    for folder in (folders.root, folders.secrets, folders.logs, folders.root / "airflow_home"):
        folder.mkdir(parents=True, exist_ok=True)
    folders.secrets.chmod(0o700)
    files.write_private(folders.broker_ca, joined.broker_ca)
    files.write_private(folders.join_token, token)
    if joined.web_ca is not None:
        files.write_private(folders.web_ca, joined.web_ca)
    placement = Placement(env_id=f"remote-{joined.token_id}", root=folders.root, web_port=0, broker_db=0)
    staged = contents.stage(spec, placement, functools.partial(fetch, spec), venvs_dir=folders.venvs, venv=venv,
                            limits=plugins.Limits(1 << 30, 10_000), progress=say)
    return venv, staged


class HostWorkers:
    """The host's Celery workers: one serving generation, and older ones draining.

    `start` begins a generation (a worker for a spec, with a Celery hostname of its own) and then
    drains the ones before it, so a changed spec replaces the worker as the main host replaces
    workers: the new one first, the old ones finishing their tasks. `run` waits until none is
    left. SIGINT or SIGTERM drains every worker; a second one stops them at once.
    """

    def __init__(self, folders: HostFolders, *, api_url: str, concurrency: int, say: Say):
        self._folders = folders
        self._api_url = api_url
        self._concurrency = concurrency
        self._say = say
        self._lock = threading.Lock()
        self._generation = 0
        self._processes: list[subprocess.Popen] = []  # every generation still running, the newest last
        self._draining: set[int] = set()  # pids told to drain
        self._leaving = False
        self._exited = threading.Event()

    def start(self, joined: Joined, *, venv: Path, staged: contents.Staged) -> bool:
        """Start a worker for `joined`, then drain the older ones; False when the host is leaving."""
        env = remote_worker.worker_env(joined, self._folders, api_url=self._api_url, concurrency=self._concurrency,
                                       base=wiring.base_env(venv), staged=staged.env())
        with self._lock:
            if self._leaving:
                return False
            self._generation += 1
            name = remote_worker.celery_hostname(joined, generation=self._generation)
            argv = remote_worker.worker_argv(joined, venv, concurrency=self._concurrency, hostname=name)
            argv = contents.wrap_startup(staged, joined.spec, argv, env, python=venv / "bin" / "python",
                                         log=self._folders.logs / "startup_script.log", timeout=STARTUP_TIMEOUT)
            # own session: a Ctrl-C reaches the join only, which drains the workers
            process = subprocess.Popen(argv, env=env, cwd=self._folders.root, start_new_session=True,
                                       stdin=subprocess.DEVNULL)
            older, self._processes = self._processes, [*self._processes, process]
        self._say(f"worker {name} started on queue {joined.queue} (pid {process.pid}, Airflow "
                  f"{joined.spec.airflow_version})")
        for previous in older:
            self._drain(previous, "replaced: it finishes its running tasks")
        return True

    def run(self) -> int:
        """Wait until every worker has exited (signals drain them); the newest one's exit code."""
        pid_file = self._folders.root / "join.pid"
        refuse_if_running(pid_file)
        pid_file.write_text(str(os.getpid()))
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            code = 0
            while True:
                with self._lock:
                    running = [p for p in self._processes if p.poll() is None]
                    if not running:
                        newest = self._processes[-1] if self._processes else None
                        self._leaving = True  # nothing is left to replace
                        return newest.returncode if newest is not None else code
                    self._processes = running
                self._exited.wait(POLL)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            pid_file.unlink(missing_ok=True)

    def drain(self) -> None:
        """Celery's warm shutdown for every worker: running tasks finish, no new ones start; no
        worker starts after this."""
        with self._lock:
            self._leaving = True
            processes = list(self._processes)
        for process in processes:
            self._drain(process, "draining: running tasks finish, no new ones start")

    def _drain(self, process: subprocess.Popen, saying: str) -> None:
        with self._lock:
            if process.poll() is not None or process.pid in self._draining:
                return
            self._draining.add(process.pid)
        self._say(f"pid {process.pid} {saying}")
        process.send_signal(signal.SIGTERM)

    def _on_signal(self, signum: int, frame: object) -> None:
        """The first SIGINT or SIGTERM drains the workers, the next one stops them at once."""
        with self._lock:
            again = self._leaving and bool(self._draining)
        if not again:
            self.drain()
            return
        self._say("stopping at once")
        with self._lock:
            processes = [p for p in self._processes if p.poll() is None]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGQUIT)


def refuse_if_running(pid_file: Path) -> None:
    """errors.Invalid when a worker of this home already runs for the environment."""
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return
    raise errors.Invalid(f"A worker of this home already runs for the environment (pid {pid}); stop it first "
                         "or give another --home.")
