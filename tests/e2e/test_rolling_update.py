"""Rolling updates: an UpdateEnvironment while a long task runs lets the task finish on its old
worker (drained, not killed), the new configuration serves new tasks, and components whose
configuration did not change keep running."""

import json
import time

import httpx
import psutil
import pytest

from tests.e2e.conftest import Airflow, wait_for
from tests.e2e.test_rollback_and_airflow2 import create

pytestmark = pytest.mark.e2e

DAGS = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("long", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="sleep 40; echo finished")
with DAG("show", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo marker=$AIRFLOW__AERODROME__MARKER")
'''
OPTIONS = {"core.dags_are_paused_at_creation": "False"}


def ask(question):
    """A predicate for wait_for that treats a slow or restarting API (a loaded host) as "not yet"."""
    def asked():
        try:
            return question()
        except (httpx.TransportError, ValueError, KeyError, OSError):
            return None
    return asked


def connect(plane, name):
    return wait_for(ask(lambda: Airflow(plane, name)), timeout=180, what="the Airflow API")


def run_and_wait(airflow, dag_id):
    run = airflow.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    return wait_for(ask(lambda: (s := state(airflow, f"/dags/{dag_id}/dagRuns/{run}")) in ("success", "failed")
                        and s), timeout=300, what=f"a {dag_id} run")


def state(airflow, path):
    return airflow.get(path).json().get("state") or ""


def pids(airflow):
    return {f.stem: json.loads(f.read_text())["pid"] for f in (airflow.placement.root / "run").glob("*.pid")}


def settle(mwaa, name):
    seen = []

    def settled():
        status = mwaa.get_environment(Name=name)["Environment"]["Status"]
        seen.append(status)
        return status if status in ("AVAILABLE", "UPDATE_FAILED", "UNAVAILABLE") else None

    return wait_for(settled, timeout=600, interval=0.5, what="the update to settle"), seen


def failed_task_instances(airflow):
    reply = airflow.get("/dags/~/dagRuns/~/taskInstances?state=failed&state=upstream_failed")
    assert reply.status_code == 200, reply.text
    return reply.json()["total_entries"]


def test_update_drains_the_busy_worker_and_leaves_unchanged_components(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "roll", "roll-bucket", DAGS,
                 AirflowConfigurationOptions={**OPTIONS, "aerodrome.marker": "v1"})
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = connect(plane, "roll")
    wait_for(ask(lambda: airflow.get("/dags/long").status_code == 200), timeout=180, what="the DAGs")
    before = pids(airflow)
    run = airflow.post("/dags/long/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    task = f"/dags/long/dagRuns/{run}/taskInstances/t"
    wait_for(ask(lambda: state(airflow, task) == "running"), timeout=180, what="the long task to run")

    started = time.monotonic()
    mwaa.update_environment(Name="roll", AirflowConfigurationOptions={**OPTIONS, "aerodrome.marker": "v2"})
    status, seen = settle(mwaa, "roll")
    took = time.monotonic() - started
    assert status == "AVAILABLE" and "UPDATING" in seen, mwaa.get_environment(Name="roll")["Environment"]
    after = pids(airflow)
    assert "worker-1" not in after and "worker-2" in after  # a new worker with its own Celery hostname
    assert all(after[name] != before[name] for name in ("api-server", "scheduler-1", "triggerer", "dag-processor"))
    if ask(lambda: state(airflow, task) == "running")():  # the old worker still serves its task
        assert before["worker-1"] in plane.driver.worker_pids(airflow.placement)[1]
        assert psutil.pid_exists(before["worker-1"])

    airflow = connect(plane, "roll")
    show = airflow.post("/dags/show/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(ask(lambda: state(airflow, f"/dags/show/dagRuns/{show}") in ("success", "failed")),
             timeout=240, what="a task with the new configuration")
    xcom = airflow.get(f"/dags/show/dagRuns/{show}/taskInstances/t/xcomEntries/return_value").json()
    assert "marker=v2" in str(xcom.get("value")), xcom
    wait_for(ask(lambda: state(airflow, task) in ("success", "failed")), timeout=240,
             what="the long task to finish")
    finished = airflow.get(task).json()
    assert (finished["state"], finished["try_number"]) == ("success", 1), finished
    wait_for(lambda: plane.driver.worker_pids(airflow.placement)[1] == [], timeout=120,
             what="the old worker to exit once drained")
    assert not psutil.pid_exists(before["worker-1"]) or \
        psutil.Process(before["worker-1"]).status() == psutil.STATUS_ZOMBIE

    # only the workers' logging changes: nothing else restarts
    mwaa.update_environment(Name="roll", LoggingConfiguration={"WorkerLogs": {"Enabled": True, "LogLevel": "WARNING"}})
    status, _ = settle(mwaa, "roll")
    assert status == "AVAILABLE"
    again = pids(airflow)
    assert {n: p for n, p in again.items() if not n.startswith("worker")} == \
        {n: p for n, p in after.items() if not n.startswith("worker")}
    assert set(again) - set(after) == {"worker-1"} and again["worker-1"] != before["worker-1"]
    assert run_and_wait(connect(plane, "roll"), "show") == "success"
    assert failed_task_instances(airflow) == 0
    print(f"config update -> AVAILABLE in {took:.1f} s")


PAIR = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("pair", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="a", bash_command="sleep 45")
    BashOperator(task_id="b", bash_command="sleep 45")
'''


def test_a_drained_worker_hands_back_the_task_it_reserved(plane, clients):
    """One pool process and a prefetch of 2: the worker runs one task and holds the other reserved.
    Drained (warm shutdown), it finishes the first and does not start the second; with acks_late,
    Celery hands the reserved message back when the drained worker closes its connection, and the
    new worker runs it. (So a reserved task waits for the drain: the default pool is fixed, with a
    prefetch of one per process, so no worker holds a task it cannot start at once.)"""
    mwaa, s3 = clients
    slots = {**OPTIONS, "celery.worker_autoscale": "1,1", "celery.worker_prefetch_multiplier": "2"}
    env = create(mwaa, s3, "pair", "pair-bucket", PAIR, AirflowConfigurationOptions=slots)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = connect(plane, "pair")
    wait_for(ask(lambda: airflow.get("/dags/pair").status_code == 200), timeout=180, what="the DAG")
    run = airflow.post("/dags/pair/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    path = f"/dags/pair/dagRuns/{run}/taskInstances"
    states = lambda: {t: state(airflow, f"{path}/{t}") for t in ("a", "b")}  # noqa: E731
    wait_for(ask(lambda: sorted(states().values()) == ["queued", "running"]), timeout=180,
             what="one task running and one queued on the single slot")
    first = next(t for t, s in states().items() if s == "running")
    second = "b" if first == "a" else "a"
    mwaa.update_environment(Name="pair", AirflowConfigurationOptions={**slots, "aerodrome.marker": "v2"})
    status, _ = settle(mwaa, "pair")
    assert status == "AVAILABLE"
    airflow = connect(plane, "pair")
    wait_for(ask(lambda: state(airflow, f"/dags/pair/dagRuns/{run}") in ("success", "failed")), timeout=400,
             what="both tasks to finish")
    ran = {t: airflow.get(f"{path}/{t}").json() for t in ("a", "b")}
    assert [(t["state"], t["try_number"]) for t in ran.values()] == [("success", 1), ("success", 1)], ran
    logs = airflow.placement.logs_dir
    assert "Restoring 1 unacknowledged message(s)" in (logs / "worker-1.log").read_text()
    started_on_new = [line for line in (logs / "worker-2.log").read_text().splitlines()
                      if "Executing workload" in line and f"task_id='{second}'" in line]
    assert started_on_new, "the reserved task did not run on the new worker"
    assert ran[second]["start_date"] >= ran[first]["end_date"]  # it waited for the drain to end
