"""Figures for access: CreateCliToken -> first CLI-bridge answer, and what InvokeRestApi adds to a
direct call of the Airflow REST API.

Runs `aerodrome up --no-demo` in a temporary home, creates one Airflow 3 environment and drives it
with boto3 and httpx (over HTTPS, trusting the bundle `client-env` exports), like a user would.

    uv run python bench/access.py [--runs 20]

Prints medians (and min/max).
"""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from environment import SHARED_VENVS, free_port, summary, wait

DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("bench_access", start_date=datetime.datetime(2026, 1, 1), schedule=None):
    BashOperator(task_id="t", bash_command="true")
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="aerodrome-bench-"))
    port = free_port()
    env = {**os.environ, "AERODROME_HOME": str(home), "AERODROME_PORT": str(port),
           "AERODROME_S3_PORT": str(free_port()), "AERODROME_VENVS_DIR": str(SHARED_VENVS)}
    up = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "up", "--no-demo"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return run(args, home, port, env)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(120)


def run(args, home: Path, port: int, env: dict) -> int:
    wait(lambda: (home / "endpoint.json").exists(), 60, "the control plane")
    exports = subprocess.run([sys.executable, "-m", "aerodrome.cli", "client-env"], env=env, capture_output=True,
                             text=True, check=True).stdout
    creds = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
    mwaa = boto3.client("mwaa", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"], config=Config(inject_host_prefix=False))
    (home / "buckets" / "bench" / "dags").mkdir(parents=True)
    (home / "buckets" / "bench" / "dags" / "bench_access.py").write_text(DAG)
    mwaa.create_environment(
        Name="bench", ExecutionRoleArn="arn:aws:iam::000000000000:role/x", SourceBucketArn="arn:aws:s3:::bench",
        DagS3Path="dags", NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]})
    status = wait(lambda: (s := mwaa.get_environment(Name="bench")["Environment"]["Status"]) != "CREATING" and s,
                  900, "AVAILABLE")
    if status != "AVAILABLE":
        raise SystemExit(f"bench is {status}")
    verify = ssl.create_default_context(cafile=creds["REQUESTS_CA_BUNDLE"])
    host = mwaa.get_environment(Name="bench")["Environment"]["WebserverUrl"]
    web = httpx.Client(base_url=f"https://{host}", verify=verify, timeout=120)
    wait(lambda: web.get("/api/v2/monitor/health").status_code == 200, 60, "the web endpoint")
    login = web.post("/pluginsv2/aws_mwaa/login", data={"token": mwaa.create_web_login_token(Name="bench")["WebToken"]})
    direct_headers = {"Authorization": f"Bearer {login.cookies['_token']}"}
    web.cookies.clear()
    wait(lambda: web.get("/api/v2/dags/bench_access", headers=direct_headers).status_code == 200, 120, "the DAG")

    bridge = []
    for _ in range(args.runs):
        started = time.monotonic()
        token = mwaa.create_cli_token(Name="bench")["CliToken"]
        answer = web.post("/aws_mwaa/cli", content="dags list -o plain",
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
        assert answer.status_code == 200 and answer.json()["exit_code"] == 0, answer.text
        bridge.append((time.monotonic() - started) * 1000)
    invoke, direct = [], []
    for _ in range(args.runs):
        started = time.monotonic()
        reply = mwaa.invoke_rest_api(Name="bench", Path="/dags/bench_access", Method="GET")
        invoke.append((time.monotonic() - started) * 1000)
        assert reply["RestApiStatusCode"] == 200
        started = time.monotonic()
        assert web.get("/api/v2/dags/bench_access", headers=direct_headers).status_code == 200
        direct.append((time.monotonic() - started) * 1000)
    with httpx.Client(base_url=f"http://127.0.0.1:{_api_port(home)}", timeout=30) as api:
        upstream = []
        for _ in range(args.runs):
            started = time.monotonic()
            assert api.get("/api/v2/dags/bench_access", headers=direct_headers).status_code == 200
            upstream.append((time.monotonic() - started) * 1000)
    print()
    print(summary("CreateCliToken -> CLI bridge answer", bridge, "ms"))
    print(summary("InvokeRestApi GET /dags/{id}", invoke, "ms"))
    print(summary("same call via the HTTPS web endpoint", direct, "ms"))
    print(summary("same call on the api-server itself", upstream, "ms"))
    overhead = [i - u for i, u in zip(invoke, upstream, strict=True)]
    print(summary("InvokeRestApi overhead (paired)", overhead, "ms"))
    return 0


def _api_port(home: Path) -> int:
    import json
    import sqlite3

    with sqlite3.connect(home / "aerodrome.db") as db:
        return json.loads(db.execute("SELECT placement FROM environments WHERE name='bench'").fetchone()[0])["web_port"]


if __name__ == "__main__":
    sys.exit(main())
