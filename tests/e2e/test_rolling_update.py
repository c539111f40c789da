"""Rolling updates: an UpdateEnvironment while a long task runs lets the task finish on its old
worker (drained, not killed), the new configuration serves new tasks, and components whose
configuration did not change keep running."""

import time

import psutil
import pytest

from tests.support import (
    UNPAUSED,
    ask,
    bash_dags,
    connect,
    create,
    gated,
    pids,
    release_file,
    settle,
    trigger_and_wait,
    wait_for,
    worker_pids,
)

pytestmark = pytest.mark.e2e

DAGS = bash_dags(long="GATE; echo finished", show="echo marker=$AIRFLOW__AERODROME__MARKER")


def test_update_drains_the_busy_worker_and_leaves_unchanged_components(plane, clients, tmp_path):
    mwaa, s3 = clients
    release = release_file(tmp_path)
    env = create(mwaa, s3, "roll", "roll-bucket", gated(DAGS, release),
                 AirflowConfigurationOptions={**UNPAUSED, "aerodrome.marker": "v1"})
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = connect(plane, "roll")
    wait_for(ask(lambda: airflow.get("/dags/long").status_code == 200), timeout=180, what="the DAGs")
    before = pids(airflow.placement)
    run = airflow.post("/dags/long/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    task = f"/dags/long/dagRuns/{run}/taskInstances/t"
    wait_for(ask(lambda: airflow.state(task) == "running"), timeout=180, what="the long task to run")

    started = time.monotonic()
    mwaa.update_environment(Name="roll", AirflowConfigurationOptions={**UNPAUSED, "aerodrome.marker": "v2"})
    status, seen = settle(mwaa, "roll")
    took = time.monotonic() - started
    assert status == "AVAILABLE" and "UPDATING" in seen, mwaa.get_environment(Name="roll")["Environment"]
    after = pids(airflow.placement)
    assert "worker-1" not in after and "worker-2" in after  # a new worker with its own Celery hostname
    assert all(after[name] != before[name] for name in ("api-server", "scheduler-1", "dag-processor"))
    assert "triggerer" not in before and "triggerer" not in after  # on demand: no task has deferred
    # the old worker still serves its task (held by its gated), drained rather than stopped
    assert ask(lambda: airflow.state(task) == "running")()
    assert before["worker-1"] in worker_pids(plane, airflow.placement)[1]
    assert psutil.pid_exists(before["worker-1"])

    airflow = connect(plane, "roll")
    show = airflow.post("/dags/show/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(ask(lambda: airflow.state(f"/dags/show/dagRuns/{show}") in ("success", "failed")),
             timeout=240, what="a task with the new configuration")
    xcom = airflow.get(f"/dags/show/dagRuns/{show}/taskInstances/t/xcomEntries/return_value").json()
    assert "marker=v2" in str(xcom.get("value")), xcom
    release.touch()
    wait_for(ask(lambda: airflow.state(task) in ("success", "failed")), timeout=240,
             what="the long task to finish")
    finished = airflow.get(task).json()
    assert (finished["state"], finished["try_number"]) == ("success", 1), finished
    wait_for(lambda: worker_pids(plane, airflow.placement)[1] == [], timeout=120,
             what="the old worker to exit once drained")
    assert not psutil.pid_exists(before["worker-1"]) or \
        psutil.Process(before["worker-1"]).status() == psutil.STATUS_ZOMBIE

    # only the workers' logging changes: nothing else restarts
    mwaa.update_environment(Name="roll", LoggingConfiguration={"WorkerLogs": {"Enabled": True, "LogLevel": "WARNING"}})
    status, _ = settle(mwaa, "roll")
    assert status == "AVAILABLE"
    again = pids(airflow.placement)
    assert {n: p for n, p in again.items() if not n.startswith("worker")} == \
        {n: p for n, p in after.items() if not n.startswith("worker")}
    assert set(again) - set(after) == {"worker-1"} and again["worker-1"] != before["worker-1"]
    assert trigger_and_wait(connect(plane, "roll"), "show") == "success"
    assert airflow.failed_task_instances() == 0
    print(f"config update -> AVAILABLE in {took:.1f} s")


PAIR = '''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("pair", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="a", bash_command="GATE")
    BashOperator(task_id="b", bash_command="GATE")
'''


def test_a_drained_worker_hands_back_the_task_it_reserved(plane, clients, tmp_path):
    """One pool process and a prefetch of 2: the worker runs one task and holds the other reserved.
    Drained (warm shutdown), it finishes the first and does not start the second; with acks_late,
    Celery hands the reserved message back when the drained worker closes its connection, and the
    new worker runs it. (So a reserved task waits for the drain: the default pool is fixed, with a
    prefetch of one per process, so no worker holds a task it cannot start at once.)"""
    mwaa, s3 = clients
    slots = {**UNPAUSED, "celery.worker_autoscale": "1,1", "celery.worker_prefetch_multiplier": "2"}
    release = release_file(tmp_path)
    env = create(mwaa, s3, "pair", "pair-bucket", gated(PAIR, release),
                 AirflowConfigurationOptions=slots)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = connect(plane, "pair")
    wait_for(ask(lambda: airflow.get("/dags/pair").status_code == 200), timeout=180, what="the DAG")
    run = airflow.post("/dags/pair/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    path = f"/dags/pair/dagRuns/{run}/taskInstances"
    states = lambda: {t: airflow.state(f"{path}/{t}") for t in ("a", "b")}  # noqa: E731
    wait_for(ask(lambda: sorted(states().values()) == ["queued", "running"]), timeout=180,
             what="one task running and one queued on the single slot")
    first = next(t for t, s in states().items() if s == "running")
    second = "b" if first == "a" else "a"
    mwaa.update_environment(Name="pair", AirflowConfigurationOptions={**slots, "aerodrome.marker": "v2"})
    status, _ = settle(mwaa, "pair")
    assert status == "AVAILABLE"
    airflow = connect(plane, "pair")
    # both still wait for their gate: the first runs on the draining worker, the second stays reserved there
    assert {t: airflow.state(f"{path}/{t}") for t in (first, second)} == {first: "running", second: "queued"}
    release.touch()
    wait_for(ask(lambda: airflow.state(f"/dags/pair/dagRuns/{run}") in ("success", "failed")), timeout=400,
             what="both tasks to finish")
    ran = {t: airflow.get(f"{path}/{t}").json() for t in ("a", "b")}
    assert [(t["state"], t["try_number"]) for t in ran.values()] == [("success", 1), ("success", 1)], ran
    logs = airflow.placement.logs_dir
    assert "Restoring 1 unacknowledged message(s)" in (logs / "worker-1.log").read_text()
    started_on_new = [line for line in (logs / "worker-2.log").read_text().splitlines()
                      if "Executing workload" in line and f"task_id='{second}'" in line]
    assert started_on_new, "the reserved task did not run on the new worker"
    assert ran[second]["start_date"] >= ran[first]["end_date"]  # it waited for the drain to end
