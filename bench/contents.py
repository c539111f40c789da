"""Figures for environment contents: a broken requirements.txt -> UPDATE_FAILED (the pre-flight), and a
changed requirements.txt -> AVAILABLE with the package cache warm.

Runs a control plane in this process in a temporary home (sharing the Airflow venvs of the tests)
and drives it with boto3, like a user would.

    uv run python bench/contents.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from aerodrome.app import ControlPlane
from aerodrome.settings import Settings

SHARED_VENVS = Path(os.environ.get("AERODROME_TEST_VENVS", Path.home() / ".cache" / "aerodrome" / "test-venvs"))
DAG = b"""
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("bench", start_date=datetime.datetime(2026, 1, 1), schedule=None):
    BashOperator(task_id="t", bash_command="true")
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summary(label: str, values: list[float]) -> str:
    return (f"{label:<44} median {statistics.median(values):7.1f} s   min {min(values):.1f}  max {max(values):.1f}"
            f"  (n={len(values)})")


def settle(mwaa, name: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = mwaa.get_environment(Name=name)["Environment"]["Status"]
        if state not in ("CREATING", "UPDATING", "ROLLING_BACK"):
            return state
        time.sleep(0.1)
    raise SystemExit(f"{name} did not settle in {timeout:.0f} s")


def timed_update(mwaa, s3, bucket: str, body: bytes) -> tuple[float, str]:
    s3.put_object(Bucket=bucket, Key="requirements.txt", Body=body)
    started = time.monotonic()
    mwaa.update_environment(Name="bench", RequirementsS3Path="requirements.txt")
    state = settle(mwaa, "bench")
    return time.monotonic() - started, state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        low = random.randrange(30000, 40000)
        settings = Settings(home=Path(home), port=free_port(), s3_port=free_port(), venv_root=SHARED_VENVS,
                            env_port_min=low, env_port_max=low + 50)
        plane = ControlPlane(settings)
        plane.start()
        try:
            run(plane, settings, args.runs)
        finally:
            plane.close()


def run(plane: ControlPlane, settings: Settings, runs: int) -> None:
    key, secret = plane.credentials.admin()
    config = Config(inject_host_prefix=False, retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    common = {"aws_access_key_id": key, "aws_secret_access_key": secret, "region_name": settings.region,
              "config": config}
    mwaa = boto3.client("mwaa", endpoint_url=settings.endpoint_url, **common)
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{settings.s3_port}", **common)
    bucket = "bench-contents"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dags/bench.py", Body=DAG)
    s3.put_object(Bucket=bucket, Key="requirements.txt", Body=b"pyjokes==0.8.3\n")
    mwaa.create_environment(Name="bench", ExecutionRoleArn="arn:aws:iam::000000000000:role/x",
                            SourceBucketArn=f"arn:aws:s3:::{bucket}", DagS3Path="dags", MaxWorkers=2,
                            RequirementsS3Path="requirements.txt",
                            NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]})
    if settle(mwaa, "bench") != "AVAILABLE":
        raise SystemExit(f"create failed: {mwaa.get_environment(Name='bench')['Environment']['LastUpdate']}")
    broken, changed = [], []
    for i in range(runs):
        seconds, state = timed_update(mwaa, s3, bucket, f"aerodrome-bench-missing-{i}==1.0\n".encode())
        assert state == "UPDATE_FAILED", state
        broken.append(seconds)
        # a new file each time (a new overlay), packages already in uv's cache
        seconds, state = timed_update(mwaa, s3, bucket, f"pyjokes==0.8.3\n# revision {i}\n".encode())
        assert state == "AVAILABLE", mwaa.get_environment(Name="bench")["Environment"]["LastUpdate"]
        changed.append(seconds)
    print(summary("broken requirements.txt -> UPDATE_FAILED", broken))
    print(summary("changed requirements.txt -> AVAILABLE (warm)", changed))


if __name__ == "__main__":
    main()
