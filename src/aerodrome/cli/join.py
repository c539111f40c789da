"""`aerodrome worker join --endpoint URL --token T [--concurrency N] [--home DIR]`: make this host a
remote worker host of the environment the token is for, and run its Celery worker in the foreground
until Ctrl-C or SIGTERM (which drain it), or until the token is revoked. When the environment's spec
changes (an update, a version change), a worker for the new spec starts and the old one drains.

The token may also come from AERODROME_JOIN_TOKEN or a file (--token-file), which `ps` does not show.
Nothing starts when the handshake or the preparation fails: the message says why.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aerodrome import errors
from aerodrome.settings import Settings

if TYPE_CHECKING:
    from aerodrome.bundles.base import Bucket
    from aerodrome.domain.spec import EnvironmentSpec
    from aerodrome.runtimes.local.remote_worker import HostFolders, Joined

    Fetch = Callable[[EnvironmentSpec, set[str]], dict[str, bytes | None]]

TOKEN_VARIABLE = "AERODROME_JOIN_TOKEN"
HANDSHAKE_TIMEOUT = 60.0
SYNC_INTERVAL = 5.0  # seconds between DAG syncs
SPEC_INTERVAL = 10.0  # seconds between looks for a changed spec


def register(group: argparse._SubParsersAction) -> None:
    join = group.add_parser("join", help="make this host a remote worker host of an environment and run its worker")
    join.add_argument("--endpoint", required=True, metavar="URL", help="the control plane's API (http://host:8700)")
    join.add_argument("--token", metavar="T", help=f"the join token (or {TOKEN_VARIABLE}, or --token-file)")
    join.add_argument("--token-file", metavar="FILE", help="a file holding the join token")
    join.add_argument("--concurrency", type=int, default=None, metavar="N",
                      help="task slots of this host's worker (default: as the environment class's workers)")
    join.add_argument("--home", metavar="DIR", help="this host's folder for venvs, DAGs and logs "
                                                    "(default: the user's data folder, aerodrome-worker)")
    join.add_argument("--host-name", metavar="NAME", help="how this host is known to the control plane "
                                                          "(default: its host name)")
    join.add_argument("--environment", metavar="ENV", help="refuse a token of any other environment")
    join.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.bundles.plane import PlaneBucket
    from aerodrome.runtimes.local import remote_worker

    def say(line: str) -> None:
        print(f"worker join: {line}", flush=True)

    started = time.monotonic()
    try:
        token = _token(args)
        if args.concurrency is not None and args.concurrency < 1:
            raise errors.Invalid("--concurrency must be 1 or more.")
        host = args.host_name or socket.gethostname()
        answer = handshake(args.endpoint, token, host, environment=args.environment)
        joined = remote_worker.Joined.from_answer(answer)
        concurrency = args.concurrency or remote_worker.concurrency_of(joined.spec)
        say(f"joined {joined.environment} (Airflow {joined.spec.airflow_version}) as {host}, queue {joined.queue}")
        folders = remote_worker.HostFolders(_home(args.home), joined.environment)
        bucket = PlaneBucket(args.endpoint, token=token, host=host, name=joined.environment)
        try:
            code = _work(joined, folders, bucket, endpoint=args.endpoint, token=token, concurrency=concurrency,
                         started=started, say=say)
        finally:
            bucket.close()
    except errors.AerodromeError as exc:
        print(f"worker join: {exc}", file=sys.stderr, flush=True)
        return 1
    say(f"the worker exited with code {code}")
    return 0 if code in (0, -15) else 1


def _work(joined: Joined, folders: HostFolders, bucket: Bucket, *, endpoint: str, token: str, concurrency: int,
          started: float, say: Callable[[str], None]) -> int:
    """Prepare this host, keep its DAGs in sync, run its workers (replaced when the environment's
    spec changes) until they exit; the last one's exit code."""
    from aerodrome.bundles import sync
    from aerodrome.domain import worker_join
    from aerodrome.runtimes.local import remote_host

    fetch = _fetcher(bucket)
    venv, staged = remote_host.prepare(joined, folders, fetch, token=token, say=say)
    prefix = worker_join.dag_prefix(joined.spec)
    result = sync.sync_prefix(bucket, prefix, folders.dags)
    say(f"DAGs in sync: {len(result.added)} file(s)")
    workers = remote_host.HostWorkers(folders, api_url=endpoint, concurrency=concurrency, say=say)
    revoked, done = threading.Event(), threading.Event()

    def shut_out(exc: Exception) -> None:  # a revoked token: the workers drain and the host leaves
        if isinstance(exc, errors.AccessDenied) and not revoked.is_set():
            revoked.set()
            say(f"{exc} Leaving.")
            workers.drain()

    def sync_loop(prefix: str) -> sync.DagSyncLoop:
        loop = sync.DagSyncLoop(lambda: bucket, prefix, folders.dags, interval=SYNC_INTERVAL, on_error=shut_out)
        loop.start()
        return loop

    loops = [sync_loop(prefix)]

    def follow() -> None:  # a changed spec: prepare it, start its worker, drain the old one
        current, failed = joined, None
        while not done.wait(SPEC_INTERVAL):
            try:
                members = _host_call(endpoint, "spec", token, joined.host)["Spec"]
            except errors.AccessDenied as exc:
                shut_out(exc)
                return
            except errors.AerodromeError:
                continue  # the plane is away: ask again
            if members == worker_join.worker_spec(current.spec) or members == failed:
                continue
            new = dataclasses.replace(current, spec=worker_join.from_worker_spec(current.environment, members))
            say(f"the environment's spec changed (Airflow {new.spec.airflow_version}); preparing a new worker")
            try:
                venv, staged = remote_host.prepare(new, folders, fetch, token=token, say=say)
            except errors.AerodromeError as exc:
                say(f"the new spec cannot run here, the current worker stays: {exc}")
                failed = members
                continue
            if worker_join.dag_prefix(new.spec) != worker_join.dag_prefix(current.spec):
                loops.append(sync_loop(worker_join.dag_prefix(new.spec)))
                loops.pop(0).stop()
            if workers.start(new, venv=venv, staged=staged):
                current = new

    workers.start(joined, venv=venv, staged=staged)
    say(f"ready {time.monotonic() - started:.1f} s after the join began")
    watch = threading.Thread(target=follow, name="spec-watch", daemon=True)
    watch.start()
    try:
        return workers.run()
    finally:
        done.set()
        watch.join(HANDSHAKE_TIMEOUT)
        for loop in loops:
            loop.stop()


def handshake(endpoint: str, token: str, host: str, *, environment: str | None = None) -> dict:
    """The join answer, or the control plane's refusal as a domain error."""
    return _host_call(endpoint, "join", token, host, **({"Environment": environment} if environment else {}))


def _host_call(endpoint: str, operation: str, token: str, host: str, **members: str) -> dict:
    """POST /aerodrome/v1/workers/<operation> with the host's token; the answer or a domain error."""
    import httpx

    from aerodrome.bundles.plane import PREFIX, error_of

    try:
        reply = httpx.post(f"{endpoint.rstrip('/')}{PREFIX}/{operation}",
                           json={"Token": token, "Host": host, **members}, timeout=HANDSHAKE_TIMEOUT)
    except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise errors.Temporary(f"cannot reach the control plane at {endpoint}: {exc}") from exc
    if reply.status_code != 200:
        raise error_of(reply)
    return dict(reply.json())


def _fetcher(bucket: Bucket) -> Fetch:
    """The pinned plugins, requirements and startup script of a spec, through the plane (which
    serves each at the version the environment's current spec pins)."""

    def fetch(spec: EnvironmentSpec, kinds: set[str]) -> dict[str, bytes | None]:
        keys = {"plugins": spec.plugins_s3_path, "requirements": spec.requirements_s3_path,
                "startup": spec.startup_script_s3_path}
        return {kind: bucket.get(key) if (key := keys[kind]) else None for kind in kinds}

    return fetch


def _token(args: argparse.Namespace) -> str:
    if args.token_file:
        try:
            return Path(args.token_file).read_text().strip()
        except OSError as exc:
            raise errors.Invalid(f"cannot read the token file: {exc}") from exc
    token = args.token or os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        raise errors.Invalid(f"give the join token with --token, {TOKEN_VARIABLE} or --token-file.")
    return token.strip()


def _home(given: str | None) -> Path:
    if given:
        return Path(given).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("aerodrome-worker"))
