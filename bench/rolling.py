"""Figures for rolling updates and autoscaling: a configuration update (while a task runs) ->
AVAILABLE, the autoscaler's reaction to a burst (trigger -> a second worker running a task), and
the tasks killed by both (must be 0). Runs a control plane in-process in a temporary home (shared
Airflow venvs), one Airflow 3 mw1.small environment with MinWorkers 1 and MaxWorkers 3.

    uv run python bench/rolling.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lifecycle import SHARED_VENVS, Rest, free_port, summary, wait

from aerodrome.app import ControlPlane
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.base import Placement
from aerodrome.runtimes.local import workers
from aerodrome.settings import Settings

DAG = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("long", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="sleep 30")
with DAG("burst", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False, max_active_tasks=32):
    for index in range(12):
        BashOperator(task_id=f"t{index}", bash_command="sleep 20")
'''
OPTIONS = {"core.dags_are_paused_at_creation": "False"}


class Api(Rest):
    def get(self, path: str) -> dict:
        return httpx.get(f"{self.base}/api/v2{path}", headers=self.headers, timeout=30).json()

    def trigger(self, dag_id: str) -> str:
        return httpx.post(f"{self.base}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None},
                          headers=self.headers, timeout=30).json()["dag_run_id"]

    def finished(self, dag_id: str, run: str) -> bool:
        return self.get(f"/dags/{dag_id}/dagRuns/{run}").get("state") in ("success", "failed")

    def killed(self) -> int:
        """Task instances that failed or needed a second try."""
        instances = self.get("/dags/~/dagRuns/~/taskInstances?limit=1000")["task_instances"]
        return sum(1 for t in instances if t["state"] != "success" or t["try_number"] > 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first_port = free_port()
        settings = Settings(home=Path(tmp) / "home", port=free_port(), s3_port=free_port(), serve_s3=False,
                            venv_root=SHARED_VENVS if SHARED_VENVS.exists() else None,
                            env_port_min=first_port, env_port_max=first_port + 40, scale_in_after=10.0)
        (settings.buckets_dir / "bench" / "dags").mkdir(parents=True)
        (settings.buckets_dir / "bench" / "dags" / "dags.py").write_bytes(DAG)
        plane = ControlPlane(settings)
        plane.start()
        try:
            return measure(plane, args.runs)
        finally:
            plane.close()


def measure(plane: ControlPlane, runs: int) -> int:
    spec = EnvironmentSpec(name="bench", execution_role_arn="arn:aws:iam::000000000000:role/x",
                           source_bucket_arn="arn:aws:s3:::bench", dag_s3_path="dags", min_workers=1, max_workers=3,
                           airflow_configuration_options=OPTIONS)
    plane.environments.create(spec, tags={})
    status = lambda: plane.environments.get("bench").status.value  # noqa: E731
    wait(lambda: status() not in ("CREATING",), 600, "create", 0.5)
    placement = Placement.from_json(plane.environments.placement("bench"))
    api = Api(plane, placement)
    wait(lambda: httpx.get(f"{api.base}/api/v2/dags/burst", headers=api.headers, timeout=30).status_code == 200,
         180, "the DAGs")
    update, reaction = [], []
    for index in range(runs):
        update.append(timed_update(plane, placement, index))
        reaction.append(timed_burst(plane, placement))
    killed = Api(plane, placement).killed()
    print(summary("config update -> AVAILABLE", update, "s"))
    print(summary("autoscale: burst -> 2nd worker busy", reaction, "s"))
    print(f"{'tasks killed':<34} {killed}")
    return 0 if killed == 0 else 1


def timed_update(plane: ControlPlane, placement: Placement, index: int) -> float:
    api = Api(plane, placement)
    run = api.trigger("long")
    wait(lambda: api.get(f"/dags/long/dagRuns/{run}/taskInstances/t").get("state") == "running", 300, "a task")
    started = time.monotonic()
    plane.environments.update("bench", changes={"airflow_configuration_options": {**OPTIONS, "bench.run": str(index)}})
    wait(lambda: plane.environments.get("bench").status.value != "UPDATING", 900, "the update", 0.2)
    took = time.monotonic() - started
    if plane.environments.get("bench").status.value != "AVAILABLE":
        raise SystemExit("the update failed")
    api = wait(lambda: _connect(plane, placement), 300, "the api-server")
    wait(lambda: api.finished("long", run), 300, "the long task")
    return took


def timed_burst(plane: ControlPlane, placement: Placement) -> float:
    idle = lambda: len(plane.driver.worker_pids(placement)[0]) == 1 and not plane.driver.worker_pids(placement)[1]  # noqa: E731
    wait(idle, 600, "one idle worker", 0.5)
    api = Api(plane, placement)
    started = time.monotonic()
    run = api.trigger("burst")
    wait(lambda: _busy(plane, placement) >= 2, 600, "a second busy worker", 0.2)
    took = time.monotonic() - started
    wait(lambda: api.finished("burst", run), 900, "the burst")
    wait(idle, 600, "the scale-in")
    return took


def _busy(plane: ControlPlane, placement: Placement) -> int:
    serving, draining = plane.driver.worker_pids(placement)
    return sum(1 for pid in serving + draining if workers.busy_slots(pid))


def _connect(plane: ControlPlane, placement: Placement) -> Api | None:
    try:
        return Api(plane, placement)
    except (httpx.HTTPError, KeyError, ValueError):
        return None


if __name__ == "__main__":
    raise SystemExit(main())
