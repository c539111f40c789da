"""Figures for rolling updates and autoscaling: a configuration update (while a task runs) ->
AVAILABLE, the autoscaler's reaction to a burst (trigger -> a second worker running a task), and
the tasks killed by both (must be 0). Runs a control plane in-process in a temporary home (shared
Airflow venvs), one Airflow 3 mw1.small environment with MinWorkers 1 and MaxWorkers 3.

    uv run python bench/rolling.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import time

import httpx
import support

from aerodrome.app import ControlPlane
from aerodrome.runtimes.base import Placement
from aerodrome.runtimes.local import workers

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


def killed(api: support.Rest) -> int:
    """Task instances that failed or needed a second try."""
    instances = api.get("/dags/~/dagRuns/~/taskInstances?limit=1000")["task_instances"]
    return sum(1 for t in instances if t["state"] != "success" or t["try_number"] > 1)


def measure(plane: ControlPlane, runs: int) -> int:
    placement = support.create_available(plane, support.bench_spec(min_workers=1, max_workers=3), timeout=600)
    api = support.Rest(plane, placement)
    support.wait(lambda: api.has_dag("burst"), 180, "the DAGs")
    update, reaction = [], []
    for index in range(runs):
        update.append(timed_update(plane, placement, index))
        reaction.append(timed_burst(plane, placement))
    lost = killed(support.Rest(plane, placement))
    support.report(("config update -> AVAILABLE", update, "s"), ("autoscale: burst -> 2nd worker busy", reaction, "s"))
    print(support.figure("tasks killed", lost, ""))
    return 0 if lost == 0 else 1


def timed_update(plane: ControlPlane, placement: Placement, index: int) -> float:
    api = support.Rest(plane, placement)
    run = api.trigger("long")
    support.wait(lambda: api.get(f"/dags/long/dagRuns/{run}/taskInstances/t").get("state") == "running", 300,
                 "a task")
    started = time.monotonic()
    options = {**support.UNPAUSED, "bench.run": str(index)}
    plane.environments.update("bench", changes={"airflow_configuration_options": options})
    settled = support.wait_status(plane, "bench", lambda s: s != "UPDATING", 900, "the update")
    took = time.monotonic() - started
    if settled != "AVAILABLE":
        raise SystemExit("the update failed")
    api = support.wait(lambda: _connect(plane, placement), 300, "the api-server")
    support.wait(lambda: api.finished("long", run), 300, "the long task")
    return took


def timed_burst(plane: ControlPlane, placement: Placement) -> float:
    def idle() -> bool:
        serving, draining = plane.driver.worker_pids(placement)
        return len(serving) == 1 and not draining

    support.wait(idle, 600, "one idle worker", 0.5)
    api = support.Rest(plane, placement)
    started = time.monotonic()
    run = api.trigger("burst")
    support.wait(lambda: _busy(plane, placement) >= 2, 600, "a second busy worker", 0.2)
    took = time.monotonic() - started
    support.wait(lambda: api.finished("burst", run), 900, "the burst")
    support.wait(idle, 600, "the scale-in")
    return took


def _busy(plane: ControlPlane, placement: Placement) -> int:
    serving, draining = plane.driver.worker_pids(placement)
    return sum(1 for pid in serving + draining if workers.busy_slots(pid))


def _connect(plane: ControlPlane, placement: Placement) -> support.Rest | None:
    try:
        return support.Rest(plane, placement)
    except (httpx.HTTPError, KeyError, ValueError):
        return None


if __name__ == "__main__":
    raise SystemExit(support.plane_bench(__doc__, {"dags.py": DAG}, measure, scale_in_after=10.0))
