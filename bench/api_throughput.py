"""Throughput and latency of signed MWAA reads (ListEnvironments, GetEnvironment) beside a bare
uvicorn + Starlette app answering the same JSON on the same host, in the same run.

Runs `aerodrome up --no-demo` in a temporary home holding a few hibernated environments (so the
reads have something to list and describe, and nothing runs), and the bare app as its own process
under the same uvicorn settings. wrk drives both with the same requests: each is signed once with
SigV4 (botocore) and sent again and again within the signature's 15 minutes, which AWS accepts too;
the control plane verifies every one in full (canonical request, HMAC, time skew, policy decision)
and writes an audit entry for each. 200 connections for throughput, 20 for latency.

    uv run python bench/api_throughput.py [--runs 5] [--seconds 5]

Prints medians (and min/max) per target, the ratio of medians, p99s, and errors (non-2xx answers
and socket errors) over all runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import support
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ENVIRONMENTS = 5
THREADS = 2


def main() -> int:
    parser = support.runs_parser(__doc__, runs=5)
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run (default 5)")
    parser.add_argument("--bare", nargs=2, metavar=("PORT", "ANSWERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        return serve_bare(int(args.bare[0]), Path(args.bare[1]))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install wrk).")
    with running_plane() as (port, creds), tempfile.TemporaryDirectory(prefix="aerodrome-bench-") as tmp:
        paths = {"ListEnvironments": "/environments", "GetEnvironment": "/environments/bench-0"}
        headers = {op: signed(port, path, creds) for op, path in paths.items()}
        answers = {path: answer(port, path, headers[op]) for op, path in paths.items()}
        answers_file = Path(tmp) / "answers.json"
        answers_file.write_text(json.dumps(answers))
        with bare_app(answers_file) as (bare_port, bare_pid):
            targets = {"plane": (port, plane_pid(port)), "bare": (bare_port, bare_pid)}
            return measure(targets, paths, headers, args.runs, args.seconds)


def measure(targets: dict[str, tuple[int, int]], paths: dict[str, str], headers: dict[str, dict[str, str]],
            runs: int, seconds: int) -> int:
    import psutil

    results: dict[str, list[dict]] = {}
    for _ in range(runs):
        for op, path in paths.items():
            for target, (port, pid) in targets.items():
                for connections in (200, 20):
                    before = sum(psutil.Process(pid).cpu_times()[:2])
                    result = wrk(port, path, headers[op], connections, seconds)
                    result["cpu_us"] = (sum(psutil.Process(pid).cpu_times()[:2]) - before) / result["requests"] * 1e6
                    results.setdefault(f"{op} {target} c{connections}", []).append(result)
    errors = 0
    for op in paths:
        plane, bare = results[f"{op} plane c200"], results[f"{op} bare c200"]
        plane_rps, bare_rps = [r["rps"] for r in plane], [r["rps"] for r in bare]
        support.report((f"{op} signed, 200 connections", plane_rps, "req/s"),
                       (f"{op} bare app, 200 connections", bare_rps, "req/s"),
                       (f"{op} signed p99, 200 connections", [r["p99"] for r in plane], "ms"),
                       (f"{op} signed p99, 20 connections", [r["p99"] for r in results[f"{op} plane c20"]], "ms"),
                       (f"{op} bare p99, 20 connections", [r["p99"] for r in results[f"{op} bare c20"]], "ms"),
                       (f"{op} signed, CPU per request", [r["cpu_us"] for r in plane], "us"),
                       (f"{op} bare app, CPU per request", [r["cpu_us"] for r in bare], "us"))
        ratio = support.statistics.median(plane_rps) / support.statistics.median(bare_rps)
        print(f"{op + ' ratio of medians, signed/bare':<38} {ratio:15.2f} x")
        errors += sum(r["errors"] for key, rs in results.items() if key.startswith(op) for r in rs)
    print(support.figure("errors over all runs", errors, ""))
    return 0


def wrk(port: int, path: str, headers: dict[str, str], connections: int, seconds: int) -> dict:
    command = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors
                                                          else 0)
    return {"rps": rps, "p99": p99, "errors": errors, "requests": requests}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def signed(port: int, path: str, creds: dict[str, str]) -> dict[str, str]:
    """The headers botocore signs a GET of `path` with (valid 15 minutes)."""
    request = AWSRequest(method="GET", url=f"http://127.0.0.1:{port}{path}")
    SigV4Auth(Credentials(creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"]), "airflow",
              "us-east-1").add_auth(request)
    return {name: value for name, value in request.headers.items() if name.lower() != "host"}


def answer(port: int, path: str, headers: dict[str, str]) -> str:
    import httpx

    response = httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers)
    response.raise_for_status()
    return response.text


@contextlib.contextmanager
def running_plane() -> Iterator[tuple[int, dict[str, str]]]:
    """`aerodrome up --no-demo` over a home that already holds ENVIRONMENTS hibernated environments."""
    with tempfile.TemporaryDirectory(prefix="aerodrome-bench-") as tmp:
        home, port = Path(tmp), support.free_port()
        settings = support.bench_settings(home, port=port)
        hibernated(settings, ENVIRONMENTS)
        env = {**support.os.environ, "AERODROME_HOME": str(home), "AERODROME_PORT": str(port),
               "AERODROME_S3_PORT": str(support.free_port()), "AERODROME_VENVS_DIR": str(home / "venvs")}
        process = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "up", "--no-demo"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            support.wait(lambda: (home / "endpoint.json").exists(), 60, "the control plane", 0.2)
            exports = subprocess.run([sys.executable, "-m", "aerodrome.cli", "client-env"], env=env,
                                     capture_output=True, text=True, check=True).stdout
            yield port, dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(120)


def hibernated(settings: support.Settings, count: int) -> None:
    """Environment rows that need nothing running (HIBERNATED, applied), with the endpoints file a
    wired environment has."""
    from aerodrome.auth.sealed import Sealer
    from aerodrome.domain.environment import LastUpdate
    from aerodrome.domain.status import Status
    from aerodrome.runtimes import endpoints
    from aerodrome.store import environments
    from aerodrome.store.db import Store

    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url, sealer=Sealer(settings.store_key_file))
    store.migrate()
    for index in range(count):
        name = f"bench-{index}"
        spec = support.bench_spec(name)
        placement = support.Placement(env_id=f"b{index}", root=settings.environments_dir / f"b{index}",
                                      web_port=8800 + index, broker_db=index)
        placement.root.mkdir(parents=True)  # the runtime wired it once, as it does every environment
        endpoints.write(placement.root, broker_url=f"redis://127.0.0.1:6379/{index}",
                        database_url=f"postgresql://env_b{index}@127.0.0.1:5432/env_b{index}")
        with store.session() as session:
            environments.insert(environments.EnvironmentRecord(
                name=name, env_id=f"b{index}", arn=f"arn:aws:airflow:us-east-1:000000000000:environment/{name}",
                status=Status.HIBERNATED, generation=1, applied_generation=1, spec=spec, applied_spec=spec,
                placement=placement, tags={}, created_at=time.time(),
                last_update=LastUpdate(status="SUCCESS", created_at=time.time())), session=session)
    store.close()


def plane_pid(port: int) -> int:
    """The process serving `port` (`aerodrome up` serves the API in its own process)."""
    import psutil

    for connection in psutil.net_connections("tcp"):
        if connection.status == "LISTEN" and connection.laddr.port == port and connection.pid:
            return connection.pid
    raise SystemExit(f"nothing listens on {port}")


@contextlib.contextmanager
def bare_app(answers: Path) -> Iterator[tuple[int, int]]:
    port = support.free_port()
    process = subprocess.Popen([sys.executable, __file__, "--bare", str(port), str(answers)])
    try:
        support.wait(lambda: _listening(port), 30, "the bare app", 0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def serve_bare(port: int, answers_file: Path) -> int:
    """A Starlette app answering each path with the JSON the control plane gave for it, served by
    uvicorn as the control plane serves its API."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response

    answers = json.loads(answers_file.read_text())

    async def app(scope: dict, receive: object, send: object) -> None:
        request = Request(scope, receive)  # type: ignore[arg-type]
        response = Response(answers.get(request.url.path, "{}"), media_type="application/json")
        await response(scope, receive, send)  # type: ignore[arg-type]

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
