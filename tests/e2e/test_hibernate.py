"""Hibernate and resume end to end: `aerodrome env hibernate` lets a running task finish, stops
every process and keeps the database; `aerodrome env resume` brings the environment back with its
history, and a new run succeeds. boto3 reports the extra statuses as they are."""

import os
import subprocess
import sys

import httpx
import psutil
import pytest

from tests.e2e.conftest import Airflow, wait_for
from tests.e2e.test_environment_lifecycle import trigger_and_wait
from tests.e2e.test_rollback_and_airflow2 import create

pytestmark = pytest.mark.e2e

DAGS = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("slow", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="sleep 12; echo finished")
with DAG("quick", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo ok")
'''


def cli(plane, *args):
    env = {**os.environ, "AERODROME_HOME": str(plane.settings.home)}
    return subprocess.run([sys.executable, "-m", "aerodrome.cli", "env", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def env_processes(airflow):
    root = str(airflow.placement.root)
    found = []
    for process in psutil.process_iter(["cwd"]):
        try:
            if process.info["cwd"] and process.info["cwd"].startswith(root):
                found.append(process)
        except psutil.Error:
            pass
    return found


def test_hibernate_drains_then_resume_keeps_history(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "hib", "hib-bucket", DAGS,
                 AirflowConfigurationOptions={"core.dags_are_paused_at_creation": "False"})
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = Airflow(plane, "hib")
    wait_for(lambda: airflow.get("/dags/slow").status_code == 200, timeout=60, what="the DAGs to appear")
    assert trigger_and_wait(airflow, "quick") == "success"

    # hibernate while a task runs: it is drained, not killed
    run = airflow.post("/dags/slow/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(lambda: airflow.get(f"/dags/slow/dagRuns/{run}/taskInstances/t").json().get("state") == "running",
             timeout=90, what="the slow task to run")
    hibernated = cli(plane, "hibernate", "hib")
    assert hibernated.returncode == 0, hibernated.stdout + hibernated.stderr
    assert "draining, 1 task(s)" in hibernated.stdout
    assert hibernated.stdout.strip().splitlines()[-1].startswith("hib: HIBERNATED")
    assert mwaa.get_environment(Name="hib")["Environment"]["Status"] == "HIBERNATED"
    assert env_processes(airflow) == []
    with pytest.raises(httpx.TransportError):
        httpx.get(airflow.base, timeout=2)
    # while hibernated: updates are refused with a reason, a second hibernate is harmless
    with pytest.raises(mwaa.exceptions.ValidationException, match="HIBERNATED"):
        mwaa.update_environment(Name="hib", MaxWorkers=3)
    refused = cli(plane, "resume", "nonexistent")
    assert refused.returncode == 1 and "not found" in refused.stderr

    resumed = cli(plane, "resume", "hib")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "hib: RESUMING" in resumed.stdout and resumed.stdout.strip().splitlines()[-1].startswith("hib: AVAILABLE")
    assert mwaa.get_environment(Name="hib")["Environment"]["Status"] == "AVAILABLE"
    airflow = Airflow(plane, "hib")
    assert airflow.get(f"/dags/slow/dagRuns/{run}").json()["state"] == "success"  # finished before hibernation
    assert airflow.run_states("quick") == ["success"]  # history kept
    assert trigger_and_wait(airflow, "quick") == "success"  # and it runs again

    listing = [line for line in subprocess.run(
        [sys.executable, "-m", "aerodrome.cli", "events", "--env", "hib"], capture_output=True, text=True,
        env={**os.environ, "AERODROME_HOME": str(plane.settings.home)}, check=True).stdout.splitlines()]
    changes = [line.split()[-1] for line in listing if "Status Change" in line]
    assert changes[-4:] == ["HIBERNATING", "HIBERNATED", "RESUMING", "AVAILABLE"]
    assert any("Hibernation" in line and "draining: 1 task(s) queued or running" in line for line in listing)
