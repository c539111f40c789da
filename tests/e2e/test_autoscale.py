"""Worker autoscaling with real Airflow: a burst of tasks on mw1.small (5 per worker) scales the
workers out to MaxWorkers, and the lull after it drains them back to MinWorkers; no task fails."""

import time

import pytest

from tests.support import (
    UNPAUSED,
    ask,
    busy_workers,
    clients_of,
    connect,
    create,
    events_of,
    gated,
    release_file,
    wait_for,
    worker_count,
    worker_pids,
)

pytestmark = pytest.mark.e2e

BURST = '''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("burst", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False, max_active_tasks=32):
    for index in range(12):
        BashOperator(task_id=f"t{index}", bash_command="GATE")
'''


@pytest.fixture
def plane(plane_factory):  # a control plane of its own: it scales in after a 15 s lull
    with plane_factory(scale_in_after=15.0) as control_plane:
        yield control_plane


def back_to_one(plane, placement) -> bool:
    serving, draining = worker_pids(plane, placement)
    return len(serving) == 1 and draining == []


def scale_events(plane, name):
    return [e["detail"] for e in events_of(plane, name, "Aerodrome Environment Scaling")]


def test_a_burst_scales_out_and_the_lull_drains_back(plane, tmp_path):
    mwaa, s3 = clients_of(plane)
    release = release_file(tmp_path)
    env = create(mwaa, s3, "auto", "auto-bucket", gated(BURST, release),
                 EnvironmentClass="mw1.small", MinWorkers=1, MaxWorkers=3, AirflowConfigurationOptions=UNPAUSED)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = connect(plane, "auto")
    placement = airflow.placement
    wait_for(ask(lambda: airflow.get("/dags/burst").status_code == 200), timeout=180, what="the DAG")
    assert worker_count(plane, "auto", placement) == 1

    spike = time.monotonic()
    run = airflow.post("/dags/burst/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(lambda: busy_workers(plane, placement) >= 2, timeout=300, interval=0.5,
             what="a second worker running a task")
    reaction = time.monotonic() - spike
    # the tasks hold their gate until the burst has scaled the workers out to MaxWorkers
    wait_for(lambda: max((e["to"] for e in scale_events(plane, "auto")), default=1) == 3, timeout=300,
             interval=0.5, what="a scale-out to MaxWorkers")
    release.touch()
    wait_for(ask(lambda: airflow.state(f"/dags/burst/dagRuns/{run}") in ("success", "failed")), timeout=600,
             what="the burst to finish")
    assert airflow.state(f"/dags/burst/dagRuns/{run}") == "success"

    wait_for(lambda: back_to_one(plane, placement),
             timeout=300, interval=1, what="the workers to drain back to MinWorkers")
    events = scale_events(plane, "auto")
    assert events[0]["from"] == 1 and events[0]["to"] > 1 and events[0]["queued"] + events[0]["running"] > 5
    assert max(e["to"] for e in events) == 3
    assert events[-1]["to"] == 1 and all(e["to"] == e["from"] - 1 for e in events if e["to"] < e["from"])
    assert all(e["arn"] == env["Arn"] for e in events)
    assert worker_count(plane, "auto", placement) == 1
    assert airflow.failed_task_instances() == 0
    instances = airflow.get(f"/dags/burst/dagRuns/{run}/taskInstances").json()["task_instances"]
    assert sorted((t["state"], t["try_number"]) for t in instances) == [("success", 1)] * 12
    print(f"autoscale reaction {reaction:.1f} s; events {[(e['from'], e['to']) for e in events]}")
