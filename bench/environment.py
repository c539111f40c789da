"""Figures for the foundation: create -> AVAILABLE, DAG file -> visible in Airflow, idle memory.

Runs `aerodrome up --no-demo` in a temporary home and drives it with boto3, like a user would.

    uv run python bench/environment.py [--runs 3] [--cold]

--cold builds the Airflow venv from scratch (the uv download cache stays warm) instead of reusing
the shared one. Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx
import psutil
from botocore.config import Config

SHARED_VENVS = Path.home() / ".cache" / "aerodrome" / "test-venvs"
DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("{dag_id}", start_date=datetime.datetime(2026, 1, 1), schedule=None):
    BashOperator(task_id="t", bash_command="true")
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def summary(label: str, values: list[float], unit: str) -> str:
    return (f"{label:<38} median {statistics.median(values):8.1f} {unit}   "
            f"min {min(values):.1f}  max {max(values):.1f}  (n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="aerodrome-bench-"))
    venvs = home / "venvs" if args.cold else SHARED_VENVS
    port, s3_port = free_port(), free_port()
    env = {**os.environ, "AERODROME_HOME": str(home), "AERODROME_PORT": str(port), "AERODROME_S3_PORT": str(s3_port),
           "AERODROME_VENVS_DIR": str(venvs)}
    up = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "up", "--no-demo"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return run(args, home, port, env, up)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(120)


def run(args, home: Path, port: int, env: dict, up: subprocess.Popen) -> int:
    wait(lambda: (home / "endpoint.json").exists(), 60, "the control plane")
    exports = subprocess.run([sys.executable, "-m", "aerodrome.cli", "client-env"], env=env, capture_output=True,
                             text=True, check=True).stdout
    creds = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
    mwaa = boto3.client("mwaa", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
                        config=Config(inject_host_prefix=False))
    bucket = home / "buckets" / "bench"
    (bucket / "dags").mkdir(parents=True)
    creates, visible = [], []
    for index in range(args.runs):
        name = f"bench{index}"
        started = time.monotonic()
        mwaa.create_environment(
            Name=name, ExecutionRoleArn="arn:aws:iam::000000000000:role/x", SourceBucketArn="arn:aws:s3:::bench",
            DagS3Path="dags",
            NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]})
        status = wait(lambda name=name: (s := mwaa.get_environment(Name=name)["Environment"]["Status"]) != "CREATING"
                      and s, 900, "AVAILABLE")
        if status != "AVAILABLE":
            raise SystemExit(f"{name} is {status}: {mwaa.get_environment(Name=name)['Environment']['LastUpdate']}")
        creates.append(time.monotonic() - started)
        print(f"create {name}: {creates[-1]:.1f} s", flush=True)
        visible.append(dag_visible(home, mwaa, name, index, creds.get("REQUESTS_CA_BUNDLE")))
        print(f"DAG visible in {name}: {visible[-1]:.1f} s", flush=True)
        if index < args.runs - 1:
            mwaa.delete_environment(Name=name)
            wait(lambda name=name: name not in mwaa.list_environments()["Environments"], 120, "delete")
    time.sleep(30)  # let the last environment settle before measuring it idle
    env_root = str(next((home / "environments").iterdir()))
    members = [p for p in psutil.process_iter(["cwd"]) if (p.info["cwd"] or "").startswith(env_root)]
    env_rss = sum(p.memory_info().rss for p in members)
    env_pss = sum(p.memory_full_info().pss for p in members)  # forked children share pages: PSS counts them once
    plane_rss = psutil.Process(up.pid).memory_info().rss
    shared = sum(p.memory_info().rss for p in psutil.Process(up.pid).children(recursive=True)
                 if not (p.cwd() or "").startswith(str(home / "environments")))
    print()
    print(summary("CreateEnvironment -> AVAILABLE" + (" (cold venv)" if args.cold else ""), creates, "s"))
    print(summary("DAG file in bucket -> in Airflow API", visible, "s"))
    print(f"{'idle environment PSS (all components)':<38} {env_pss / 2**20:8.0f} MiB  ({len(members)} processes)")
    print(f"{'idle environment RSS sum (double-counts)':<38} {env_rss / 2**20:8.0f} MiB")
    print(f"{'control plane RSS':<38} {plane_rss / 2**20:8.0f} MiB")
    print(f"{'PostgreSQL + Redis + S3 server RSS':<38} {shared / 2**20:8.0f} MiB")
    return 0


def dag_visible(home: Path, mwaa, name: str, index: int, bundle: str | None) -> float:
    env_dir = next(p for p in (home / "environments").iterdir())
    host = mwaa.get_environment(Name=name)["Environment"]["WebserverUrl"]
    web, verify = (f"https://{host}", ssl.create_default_context(cafile=bundle)) if bundle else (f"http://{host}", True)
    password = json.loads((env_dir / "secrets" / "passwords.json").read_text())["admin"]
    token = httpx.post(f"{web}/auth/token", json={"username": "admin", "password": password},
                       verify=verify).json()["access_token"]
    dag_id = f"bench_dag_{index}_{int(time.time())}"
    started = time.monotonic()
    (home / "buckets" / "bench" / "dags" / f"{dag_id}.py").write_text(DAG.format(dag_id=dag_id))
    wait(lambda: httpx.get(f"{web}/api/v2/dags/{dag_id}", headers={"Authorization": f"Bearer {token}"},
                           verify=verify).status_code == 200, 120, "the DAG")
    return time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
