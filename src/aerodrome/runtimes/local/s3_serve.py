"""Serve the local buckets folder over the real S3 protocol with `rclone serve s3`.

Every top-level folder of `settings.buckets_dir` is a bucket (files at the top level are ignored);
S3 clients (boto3, the AWS CLI, Airflow's S3 hooks) read and write them with SigV4 and the key pair
given here. The control plane itself reads local buckets straight from disk; this server is for users.
It lives with the local runtime because it is a supervised local process, like Redis and PostgreSQL.

- Secrets: the key pair reaches rclone in the environment variable RCLONE_AUTH_KEY, which only the
  same user (and root) can read, never on the command line, which `ps` shows to everyone. Neither
  rclone's log (at its default level) nor ours repeats it.
- No user configuration: rclone runs with HOME, RCLONE_CONFIG (an empty file) and its cache folder
  under `settings.services_dir / "rclone"`, and with no other RCLONE_* variable from our environment.
- Files written straight into the folders show up at once (`--dir-cache-time 1ms`); with rclone's
  default cache they would stay invisible for minutes. Not `0s`: with a zero cache time rclone's
  directory cleaner re-arms itself at once and spins a core forever after the first nested listing.
- The local runtime's Supervisor runs rclone (its own session, restarts with backoff, a pid file
  with a fingerprint of the command line and key). A server left running by a control plane that
  was killed is adopted when its fingerprint matches, and stopped and replaced otherwise.

Not served (rclone answers NotImplemented, or ignores the request): object versions
(ListObjectVersions; GetObject with a VersionId; HeadObject ignores it; PutBucketVersioning does not
turn versioning on), bucket policies, ACLs, public access blocks, tagging, lifecycle rules,
notifications, encryption settings, object lock, website hosting, GetObjectAttributes; user metadata
is kept in memory only. Keys must be canonical paths (no "..", ".", "//", leading or trailing "/").
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
from pathlib import Path

from aerodrome import errors
from aerodrome.runtimes.local import binaries
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor
from aerodrome.settings import Settings

NAME = "host/s3"


class S3Server:
    def __init__(self, settings: Settings, access_key_id: str, secret_access_key: str):
        for label, value in (("access key id", access_key_id), ("secret access key", secret_access_key)):
            if not value or any(c in value for c in ',"\r\n'):
                raise errors.Invalid(f"The S3 server's {label} must be set and cannot contain commas, quotes "
                                     "or line breaks.")
        self._settings = settings
        self._auth = f'"{access_key_id},{secret_access_key}"'  # one CSV field: the pair holds a comma
        self._supervisor: Supervisor | None = None

    def __repr__(self) -> str:
        return f"S3Server({self.url!r}, buckets={str(self._settings.buckets_dir)!r})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._settings.s3_port}"

    @property
    def pid(self) -> int | None:
        return self._supervisor.state(NAME)[1] if self._supervisor is not None else None

    @property
    def restarts(self) -> int:
        return self._supervisor.state(NAME)[2] if self._supervisor is not None else 0

    @property
    def log_file(self) -> Path:
        return self._settings.logs_dir / "s3-server.log"

    def start(self, *, timeout: float = 20.0) -> None:
        """Start serving; returns once the server answers on its port, raises errors.Permanent if it cannot."""
        if self._supervisor is not None:
            return
        for folder in (self._settings.buckets_dir, self._folder, self._settings.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._supervisor = Supervisor(poll_interval=0.5)
        try:
            self._supervisor.ensure(self._spec())
            self._wait_ready(self._supervisor, timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, *, timeout: float = 10.0) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.stop(NAME, grace=timeout)
            supervisor.close(grace=timeout)

    # --- the process ---------------------------------------------------------------------------

    @property
    def _folder(self) -> Path:
        return self._settings.services_dir / "rclone"

    def _spec(self) -> ProcessSpec:
        argv = [str(binaries.rclone()), "serve", "s3",
                "--addr", f"127.0.0.1:{self._settings.s3_port}",
                "--dir-cache-time", "1ms", "--poll-interval", "0",
                "--etag-hash", "MD5",
                "--cache-dir", str(self._folder / "cache"),
                str(self._settings.buckets_dir)]
        # a running server is adopted only if it has this command line and key pair
        fingerprint = hashlib.sha256("\0".join([*argv, self._auth]).encode()).hexdigest()
        return ProcessSpec(name=NAME, argv=argv, env=self._environment(), log_file=self.log_file,
                           pid_file=self._folder / "supervised.pid", fingerprint=fingerprint)

    def _environment(self) -> dict[str, str]:
        config = self._folder / "rclone.conf"
        if not config.exists():
            config.touch(mode=0o600)
        env = {name: os.environ[name] for name in ("PATH", "TMPDIR", "LANG", "TZ") if name in os.environ}
        env.update({"HOME": str(self._folder), "RCLONE_CONFIG": str(config), "RCLONE_AUTH_KEY": self._auth})
        return env

    def _wait_ready(self, supervisor: Supervisor, timeout: float) -> None:
        port = self._settings.s3_port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running, pid, _ = supervisor.state(NAME)
            exits = supervisor.recent_exits(NAME)
            if not running or pid is None or exits:
                code = exits[-1] if exits else "unknown"
                raise errors.Permanent(
                    f"The S3 server (rclone) exited with code {code} while starting; its log is {self.log_file}. "
                    f"If port {port} is in use, set AERODROME_S3_PORT, or AERODROME_SERVE_S3=false.")
            if _listening(pid, port) and _answers(port):
                return
            time.sleep(0.05)
        raise errors.Permanent(f"The S3 server (rclone) did not answer on port {port} within {timeout:.0f} s; "
                               f"its log is {self.log_file}.")


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
