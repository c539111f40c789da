"""What every bench needs: settings for a throwaway home, free ports, a started control plane (in
this process, or `aerodrome up` as a user runs it), a bucket of DAGs, waits on a status, and the
median lines they print. The benches import it as `support` (they run as `python bench/X.py`)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import httpx
from botocore.config import Config

from aerodrome import errors
from aerodrome.app import ControlPlane
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.base import Placement
from aerodrome.settings import Settings

# The Airflow venvs the e2e tests build: shared, so a bench measures Aerodrome, not pip.
SHARED_VENVS = Path(os.environ.get("AERODROME_TEST_VENVS", Path("/var/cache/aerodrome/test-venvs") if os.geteuid() == 0
                                   else Path.home() / ".cache" / "aerodrome" / "test-venvs"))
BUCKET = "bench"
ROLE = "arn:aws:iam::000000000000:role/x"
NETWORK = {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}
UNPAUSED = {"core.dags_are_paused_at_creation": "False"}
SETTLED = ("AVAILABLE", "CREATE_FAILED", "UPDATE_FAILED", "UNAVAILABLE", "HIBERNATED")

T = TypeVar("T")


def bash_dag(dag_id: str, command: str = "true", *, retries: int = 0) -> bytes:
    """A DAG file with one BashOperator task `t`, triggered by hand only, that imports on Airflow 2 and 3;
    with `retries`, a task whose worker vanished runs again 5 s later, as MWAA users set it."""
    return f'''
import datetime
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator
with DAG("{dag_id}", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False,
         default_args={{"retries": {retries}, "retry_delay": datetime.timedelta(seconds=5)}}):
    BashOperator(task_id="t", bash_command="{command}")
'''.encode()


def runs_parser(doc: str | None, *, runs: int = 3) -> argparse.ArgumentParser:
    """The command line every bench takes: --runs N (its module docstring as the help)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=runs, help=f"how many times to measure (default {runs})")
    return parser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy value of predicate(); exits the bench saying `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)
    return value


def summary(label: str, values: list[float], unit: str, *, width: int = 38) -> str:
    return (f"{label:<{width}} median {statistics.median(values):8.1f} {unit}   "
            f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})")


def report(*rows: tuple[str, list[float], str], width: int = 38) -> None:
    """Print a `summary` line for each (label, values, unit)."""
    for label, values, unit in rows:
        print(summary(label, values, unit, width=width))


def figure(label: str, value: float, unit: str, *, width: int = 38, note: str = "") -> str:
    """A single figure lined up with the `summary` lines."""
    return f"{label:<{width}} {value:15.0f} {unit}" + (f"  ({note})" if note else "")


# --- a control plane in this process ---------------------------------------------------------------

def bench_settings(home: Path, **overrides: Any) -> Settings:
    """Settings for a throwaway home: free ports, 40 environment ports, the shared venvs, no S3 server."""
    first = free_port()
    values: dict[str, Any] = {"home": home, "port": free_port(), "s3_port": free_port(), "serve_s3": False,
                              "venv_root": SHARED_VENVS if SHARED_VENVS.exists() else None,
                              "env_port_min": first, "env_port_max": first + 40}
    return Settings(**{**values, **overrides})


def put_dags(settings: Settings, dags: dict[str, bytes], *, bucket: str = BUCKET) -> Path:
    """Write `dags/<name>` files into a local bucket; returns the bucket's dags folder."""
    folder = settings.buckets_dir / bucket / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in dags.items():
        (folder / name).write_bytes(body)
    return folder


@contextlib.contextmanager
def started_plane(dags: dict[str, bytes], **settings: Any) -> Iterator[ControlPlane]:
    """A started control plane in a temporary home whose bucket `bench` holds `dags`; closed after."""
    with tempfile.TemporaryDirectory(prefix="aerodrome-bench-") as tmp:
        built = bench_settings(Path(tmp) / "home", **settings)
        put_dags(built, dags)
        plane = ControlPlane(built)
        plane.start()
        try:
            yield plane
        finally:
            plane.close()


def plane_bench(doc: str | None, dags: dict[str, bytes], measure: Callable[[ControlPlane, int], int],
                **settings: Any) -> int:
    """The whole of an in-process bench's main(): parse --runs, start a plane, measure, close."""
    args = runs_parser(doc).parse_args()
    with started_plane(dags, **settings) as plane:
        return measure(plane, args.runs)


def bench_spec(name: str = "bench", **fields: Any) -> EnvironmentSpec:
    """An environment on bucket `bench` (DAGs under dags/, unpaused at creation) with `fields` set."""
    values: dict[str, Any] = {"execution_role_arn": ROLE, "source_bucket_arn": f"arn:aws:s3:::{BUCKET}",
                              "dag_s3_path": "dags", "airflow_configuration_options": UNPAUSED}
    return EnvironmentSpec(name=name, **{**values, **fields})


def status(plane: ControlPlane, name: str) -> str | None:
    """The environment's status, or None once it is gone."""
    try:
        return plane.environments.get(name).status.value
    except errors.NotFound:
        return None


def wait_status(plane: ControlPlane, name: str, until: Callable[[str | None], bool], timeout: float, what: str,
                interval: float = 0.2) -> str | None:
    """Poll `name`'s status until `until(status)` holds; returns that status."""
    seen: list[str | None] = []

    def reached() -> bool:
        seen[:] = [status(plane, name)]
        return until(seen[0])

    wait(reached, timeout, what, interval)
    return seen[0]


def create_available(plane: ControlPlane, spec: EnvironmentSpec, timeout: float = 900) -> Placement:
    """Create `spec`, wait for it to settle, exit unless AVAILABLE; returns its placement."""
    plane.environments.create(spec, tags={})
    settled = wait_status(plane, spec.name, lambda s: s != "CREATING", timeout, f"{spec.name} to be created", 0.5)
    if settled != "AVAILABLE":
        raise SystemExit(f"{spec.name} is {settled}: {plane.environments.get(spec.name).last_update}")
    return plane.environments.placement(spec.name)


class Rest:
    """Airflow 3's REST API of one environment, straight to its api-server, with a bearer token."""

    def __init__(self, plane: ControlPlane, placement: Placement):
        self.base = f"http://127.0.0.1:{placement.web_port}"
        user, password = plane.driver.web_login(placement)
        reply = httpx.post(f"{self.base}/auth/token", json={"username": user, "password": password}, timeout=30)
        self.headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}

    def get(self, path: str) -> dict[str, Any]:
        reply: dict[str, Any] = httpx.get(f"{self.base}/api/v2{path}", headers=self.headers, timeout=30).json()
        return reply

    def has_dag(self, dag_id: str) -> bool:
        try:
            return httpx.get(f"{self.base}/api/v2/dags/{dag_id}", headers=self.headers, timeout=60).status_code == 200
        except httpx.HTTPError:
            return False

    def trigger(self, dag_id: str) -> str:
        reply = httpx.post(f"{self.base}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None},
                           headers=self.headers, timeout=30)
        return str(reply.json()["dag_run_id"])

    def finished(self, dag_id: str, run: str) -> str | None:
        state = self.get(f"/dags/{dag_id}/dagRuns/{run}").get("state")
        return state if state in ("success", "failed") else None

    def run_to_success(self, dag_id: str, timeout: float = 180) -> None:
        run = self.trigger(dag_id)
        if wait(lambda: self.finished(dag_id, run), timeout, f"the {dag_id} run") != "success":
            raise SystemExit(f"the benchmark run of {dag_id} failed")


# --- `aerodrome up` in a subprocess, driven with boto3 like a user would ------------------------------

@dataclass
class Up:
    home: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    creds: dict[str, str]
    mwaa: Any

    def create_available(self, name: str, timeout: float = 900, **members: Any) -> dict[str, Any]:
        """CreateEnvironment on bucket `bench`, wait until it settles, exit unless AVAILABLE."""
        self.mwaa.create_environment(Name=name, ExecutionRoleArn=ROLE, SourceBucketArn=f"arn:aws:s3:::{BUCKET}",
                                     DagS3Path="dags", NetworkConfiguration=NETWORK, **members)
        environment: dict[str, Any] = wait(
            lambda: (e := self.mwaa.get_environment(Name=name)["Environment"])["Status"] != "CREATING" and e,
            timeout, f"{name} to be created", 0.2)
        if environment["Status"] != "AVAILABLE":
            raise SystemExit(f"{name} is {environment['Status']}: {environment.get('LastUpdate')}")
        return environment


@contextlib.contextmanager
def running_up(*, venvs: Path | None = SHARED_VENVS) -> Iterator[Up]:
    """`aerodrome up --no-demo` in a temporary home, with an MWAA client holding the admin key;
    `venvs=None` builds the Airflow venvs inside that home."""
    with tempfile.TemporaryDirectory(prefix="aerodrome-bench-") as tmp:
        home, port = Path(tmp), free_port()
        env = {**os.environ, "AERODROME_HOME": str(home), "AERODROME_PORT": str(port),
               "AERODROME_S3_PORT": str(free_port()), "AERODROME_CONSOLE_PORT": str(free_port()),
               "AERODROME_VENVS_DIR": str(venvs or home / "venvs")}
        process = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "up", "--no-demo"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait(lambda: (home / "endpoint.json").exists(), 60, "the control plane", 0.2)
            exports = subprocess.run([sys.executable, "-m", "aerodrome.cli", "client-env"], env=env,
                                     capture_output=True, text=True, check=True).stdout
            creds = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
            mwaa = aws_client("mwaa", f"http://127.0.0.1:{port}", creds["AWS_ACCESS_KEY_ID"],
                              creds["AWS_SECRET_ACCESS_KEY"])
            yield Up(home, process, env, creds, mwaa)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(120)


def aws_client(service: str, endpoint: str, key: str, secret: str, region: str = "us-east-1") -> Any:
    config = Config(inject_host_prefix=False, retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=config)
