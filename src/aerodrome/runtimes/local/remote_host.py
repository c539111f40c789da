"""A remote worker host at work: it prepares what its environment's workers run with and runs one
Celery worker until it is told to stop (cli/join.py composes it with the DAG sync).

Preparing uses the main host's code and rules: the version's venv (venvs.py, in the host's own
venvs folder), the requirements overlay with its pre-flight, the plugins and the startup script
(contents.py, which wraps the worker's start in the launcher as on the main host). SIGINT or SIGTERM
asks the worker for Celery's warm shutdown (its running tasks finish, it takes no new ones); a
second one stops it at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local import contents, files, plugins, remote_worker, venvs, wiring
from aerodrome.runtimes.local.remote_worker import HostFolders, Joined

STARTUP_TIMEOUT = 300.0
Say = Callable[[str], None]


def prepare(joined: Joined, folders: HostFolders, fetch: contents.Fetch, *, token: str,
            say: Say) -> tuple[Path, contents.Staged]:
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
    staged = contents.stage(spec, placement, fetch, venvs_dir=folders.venvs, venv=venv,
                            limits=plugins.Limits(1 << 30, 10_000), progress=say)
    return venv, staged


class RemoteWorker:
    def __init__(self, joined: Joined, folders: HostFolders, *, venv: Path, staged: contents.Staged,
                 api_url: str, concurrency: int, say: Say):
        self._joined = joined
        self._folders = folders
        self._venv = venv
        self._staged = staged
        self._concurrency = concurrency
        self._api_url = api_url
        self._say = say
        self._process: subprocess.Popen | None = None
        self._sent: set[int] = set()  # signals sent to the worker
        self._leaving = False
        self._lock = threading.Lock()

    def run(self) -> int:
        """Run the worker until it exits; its exit code. Signals drain it (see `_on_signal`)."""
        env = remote_worker.worker_env(self._joined, self._folders, api_url=self._api_url,
                                       concurrency=self._concurrency,
                                       base=wiring.base_env(self._venv), staged=self._staged.env())
        argv = remote_worker.worker_argv(self._joined, self._venv, concurrency=self._concurrency)
        argv = contents.wrap_startup(self._staged, self._joined.spec, argv, env, python=self._venv / "bin" / "python",
                                     log=self._folders.logs / "startup_script.log", timeout=STARTUP_TIMEOUT)
        pid_file = self._folders.root / "worker.pid"
        refuse_if_running(pid_file)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            with self._lock:  # own session: a Ctrl-C reaches this process only, which drains the worker
                if self._leaving:  # told to drain before it started: it does not start
                    return 0
                self._process = subprocess.Popen(argv, env=env, cwd=self._folders.root, start_new_session=True,
                                                 stdin=subprocess.DEVNULL)
            pid_file.write_text(str(self._process.pid))
            self._say(f"worker {remote_worker.celery_hostname(self._joined)} started on queue {self._joined.queue} "
                      f"(pid {self._process.pid})")
            return self._process.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            pid_file.unlink(missing_ok=True)

    def drain(self) -> None:
        """Celery's warm shutdown: running tasks finish, no new ones start (again: nothing more)."""
        with self._lock:
            self._leaving = True
        self._signal(signal.SIGTERM, "draining: running tasks finish, no new ones start")

    def _signal(self, sig: int, saying: str) -> None:
        with self._lock:  # before the worker runs there is nothing to signal (a sync failure calls again)
            process = self._process
            if process is None or process.poll() is not None or sig in self._sent:
                return
            self._sent.add(sig)
        self._say(saying)
        if sig == signal.SIGTERM:
            process.send_signal(sig)
        else:
            os.killpg(process.pid, sig)

    def _on_signal(self, signum: int, frame: object) -> None:
        """The first SIGINT or SIGTERM drains the worker, the next one stops it at once."""
        if signal.SIGTERM not in self._sent:
            self._signal(signal.SIGTERM, "draining: running tasks finish, no new ones start (again to stop at once)")
        else:
            self._signal(signal.SIGQUIT, "stopping at once")


def refuse_if_running(pid_file: Path) -> None:
    """errors.Invalid when a worker of this home already runs for the environment."""
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return
    raise errors.Invalid(f"A worker of this home already runs for the environment (pid {pid}); stop it first "
                         "or give another --home.")
