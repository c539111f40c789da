"""Figures for access: CreateCliToken -> first CLI-bridge answer, and what InvokeRestApi adds to a
direct call of the Airflow REST API.

Runs `aerodrome up --no-demo` in a temporary home, creates one Airflow 3 environment and drives it
with boto3 and httpx (over HTTPS, trusting the bundle `client-env` exports), like a user would.

    uv run python bench/access.py [--runs 20]

Prints medians (and min/max).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import ssl
import sys
import time

import httpx
import support


def main() -> int:
    args = support.runs_parser(__doc__, runs=20).parse_args()
    with support.running_up() as up:
        return run(up, args.runs)


def run(up: support.Up, runs: int) -> int:
    (up.home / "buckets" / support.BUCKET / "dags").mkdir(parents=True)
    (up.home / "buckets" / support.BUCKET / "dags" / "bench_access.py").write_bytes(support.bash_dag("bench_access"))
    host = up.create_available("bench")["WebserverUrl"]
    verify = ssl.create_default_context(cafile=up.creds["REQUESTS_CA_BUNDLE"])
    with httpx.Client(base_url=f"https://{host}", verify=verify, timeout=120) as web:
        support.wait(lambda: web.get("/api/v2/monitor/health").status_code == 200, 60, "the web endpoint", 0.2)
        token = up.mwaa.create_web_login_token(Name="bench")["WebToken"]
        login = web.post("/pluginsv2/aws_mwaa/login", data={"token": token})
        direct_headers = {"Authorization": f"Bearer {login.cookies['_token']}"}
        web.cookies.clear()
        support.wait(lambda: web.get("/api/v2/dags/bench_access", headers=direct_headers).status_code == 200, 120,
                     "the DAG", 0.2)
        bridge = [_bridge_call(up, web) for _ in range(runs)]
        invoke, direct = [], []
        for _ in range(runs):
            started = time.monotonic()
            reply = up.mwaa.invoke_rest_api(Name="bench", Path="/dags/bench_access", Method="GET")
            invoke.append((time.monotonic() - started) * 1000)
            assert reply["RestApiStatusCode"] == 200
            started = time.monotonic()
            assert web.get("/api/v2/dags/bench_access", headers=direct_headers).status_code == 200
            direct.append((time.monotonic() - started) * 1000)
    with httpx.Client(base_url=f"http://127.0.0.1:{_api_port(up)}", timeout=30) as api:
        upstream = []
        for _ in range(runs):
            started = time.monotonic()
            assert api.get("/api/v2/dags/bench_access", headers=direct_headers).status_code == 200
            upstream.append((time.monotonic() - started) * 1000)
    print()
    overhead = [i - u for i, u in zip(invoke, upstream, strict=True)]
    support.report(("CreateCliToken -> CLI bridge answer", bridge, "ms"),
                   ("InvokeRestApi GET /dags/{id}", invoke, "ms"),
                   ("same call via the HTTPS web endpoint", direct, "ms"),
                   ("same call on the api-server itself", upstream, "ms"),
                   ("InvokeRestApi overhead (paired)", overhead, "ms"))
    return 0


def _bridge_call(up: support.Up, web: httpx.Client) -> float:
    started = time.monotonic()
    token = up.mwaa.create_cli_token(Name="bench")["CliToken"]
    answer = web.post("/aws_mwaa/cli", content="dags list -o plain",
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
    assert answer.status_code == 200 and answer.json()["exit_code"] == 0, answer.text
    return (time.monotonic() - started) * 1000


def _api_port(up: support.Up) -> int:
    with contextlib.closing(sqlite3.connect(up.home / "aerodrome.db")) as db:
        placement = db.execute("SELECT placement FROM environments WHERE name='bench'").fetchone()[0]
    return int(json.loads(placement)["web_port"])


if __name__ == "__main__":
    sys.exit(main())
