"""Figures for hibernate and resume: hibernate -> HIBERNATED, resume -> AVAILABLE, resume -> first
task finished, and the memory hibernation frees. Runs a control plane in-process in a temporary
home (shared Airflow venvs), one Airflow 3 environment, and repeats the cycle.

    uv run python bench/lifecycle.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aerodrome.app import ControlPlane
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.base import Placement
from aerodrome.settings import Settings

SHARED_VENVS = Path.home() / ".cache" / "aerodrome" / "test-venvs"
DAG = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("quick", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="true")
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)
    return value


def summary(label: str, values: list[float], unit: str) -> str:
    return (f"{label:<34} median {statistics.median(values):7.1f} {unit}   "
            f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})")


def env_rss_mb(root: Path) -> float:
    total = 0
    for process in psutil.process_iter(["cwd", "memory_info"]):
        try:
            if process.info["cwd"] and process.info["cwd"].startswith(str(root)) and process.info["memory_info"]:
                total += process.info["memory_info"].rss
        except psutil.Error:
            pass
    return total / 2**20


class Rest:
    def __init__(self, plane: ControlPlane, placement: Placement):
        self.base = f"http://127.0.0.1:{placement.web_port}"
        user, password = plane.driver.web_login(placement)
        reply = httpx.post(f"{self.base}/auth/token", json={"username": user, "password": password}, timeout=30)
        self.headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}

    def run_to_success(self) -> None:
        run = httpx.post(f"{self.base}/api/v2/dags/quick/dagRuns", json={"logical_date": None},
                         headers=self.headers, timeout=30).json()["dag_run_id"]
        url = f"{self.base}/api/v2/dags/quick/dagRuns/{run}"
        state = wait(lambda: (s := httpx.get(url, headers=self.headers, timeout=30).json()["state"])
                     in ("success", "failed") and s, 180, "the run")
        if state != "success":
            raise SystemExit("the benchmark run failed")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plane = bench_plane(Path(tmp), {"quick.py": DAG})
        try:
            return measure(plane, args.runs)
        finally:
            plane.close()


def bench_plane(tmp: Path, dags: dict[str, bytes]) -> ControlPlane:
    """A started control plane in `tmp` with a local bucket `bench` holding `dags/<name>`."""
    first_port = free_port()
    settings = Settings(home=tmp / "home", port=free_port(), s3_port=free_port(), serve_s3=False,
                        venv_root=SHARED_VENVS if SHARED_VENVS.exists() else None,
                        env_port_min=first_port, env_port_max=first_port + 40)
    (settings.buckets_dir / "bench" / "dags").mkdir(parents=True)
    for name, body in dags.items():
        (settings.buckets_dir / "bench" / "dags" / name).write_bytes(body)
    plane = ControlPlane(settings)
    plane.start()
    return plane


def measure(plane: ControlPlane, runs: int) -> int:
    spec = EnvironmentSpec(name="bench", execution_role_arn="arn:aws:iam::000000000000:role/x",
                           source_bucket_arn="arn:aws:s3:::bench", dag_s3_path="dags",
                           airflow_configuration_options={"core.dags_are_paused_at_creation": "False"})
    plane.environments.create(spec, tags={})
    status = lambda: plane.environments.get("bench").status.value  # noqa: E731
    wait(lambda: status() not in ("CREATING",), 600, "create", 0.5)
    placement = Placement.from_json(plane.environments.placement("bench"))
    rest = Rest(plane, placement)
    wait(lambda: httpx.get(f"{rest.base}/api/v2/dags/quick", headers=rest.headers, timeout=30).status_code == 200,
         120, "the DAG")
    rest.run_to_success()
    hibernate, resume, first_task, freed = [], [], [], []
    for _ in range(runs):
        time.sleep(5)  # let memory settle after start
        before = env_rss_mb(placement.root)
        started = time.monotonic()
        plane.lifecycle.hibernate("bench")
        wait(lambda: status() == "HIBERNATED", 120, "HIBERNATED")
        hibernate.append(time.monotonic() - started)
        freed.append(before - env_rss_mb(placement.root))
        started = time.monotonic()
        plane.lifecycle.resume("bench")
        wait(lambda: status() == "AVAILABLE", 300, "AVAILABLE")
        resume.append(time.monotonic() - started)
        Rest(plane, placement).run_to_success()
        first_task.append(time.monotonic() - started)
    print(summary("hibernate -> HIBERNATED", hibernate, "s"))
    print(summary("resume -> AVAILABLE", resume, "s"))
    print(summary("resume -> first task finished", first_task, "s"))
    print(summary("memory freed by hibernation", freed, "MiB"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
