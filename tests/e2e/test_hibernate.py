"""Hibernate and resume end to end: `aerodrome env hibernate` lets a running task finish, stops
every process and keeps the database; `aerodrome env resume` brings the environment back with its
history, and a new run succeeds. boto3 reports the extra statuses as they are."""

import os
import subprocess
import sys

import httpx
import pytest

from tests.support import (
    UNPAUSED,
    Airflow,
    aerodrome,
    bash_dags,
    create,
    env_processes,
    events_of,
    gated,
    release_file,
    status,
    trigger_and_wait,
    wait_for,
    wait_for_dag,
)

pytestmark = pytest.mark.e2e

DAGS = bash_dags(slow="GATE; echo finished", quick="echo ok")


def test_hibernate_drains_then_resume_keeps_history(plane, clients, tmp_path):
    mwaa, s3 = clients
    release = release_file(tmp_path)
    env = create(mwaa, s3, "hib", "hib-bucket", gated(DAGS, release),
                 AirflowConfigurationOptions=UNPAUSED)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = Airflow(plane, "hib")
    wait_for_dag(airflow, "slow")
    assert trigger_and_wait(airflow, "quick") == "success"

    # hibernate while a task runs: it is drained, not killed
    run = airflow.post("/dags/slow/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(lambda: airflow.state(f"/dags/slow/dagRuns/{run}/taskInstances/t") == "running",
             timeout=90, what="the slow task to run")
    hibernating = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "env", "hibernate", "hib"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "AERODROME_HOME": str(plane.settings.home)})
    draining = lambda: [e["detail"]["activeTasks"] for e in events_of(plane, "hib")  # noqa: E731
                        if "activeTasks" in e["detail"]]
    wait_for(draining, timeout=300, interval=0.2, what="the hibernation to report its draining")
    # the task still holds its gate: the hibernation waits for it
    assert draining()[0] == 1
    assert hibernating.poll() is None and status(mwaa, "hib") == "HIBERNATING"
    release.touch()
    stdout, stderr = hibernating.communicate(timeout=300)
    assert hibernating.returncode == 0, stdout + stderr
    assert "draining, 1 task(s)" in stdout
    assert stdout.strip().splitlines()[-1].startswith("hib: HIBERNATED")
    assert mwaa.get_environment(Name="hib")["Environment"]["Status"] == "HIBERNATED"
    assert env_processes(airflow.placement) == []
    with pytest.raises(httpx.TransportError):
        httpx.get(airflow.base, timeout=2)
    # while hibernated: updates are refused with a reason, a second hibernate is harmless
    with pytest.raises(mwaa.exceptions.ValidationException, match="HIBERNATED"):
        mwaa.update_environment(Name="hib", MaxWorkers=3)
    refused = aerodrome(plane.settings.home, "env", "resume", "nonexistent", timeout=300)
    assert refused.returncode == 1 and "not found" in refused.stderr

    resumed = aerodrome(plane.settings.home, "env", "resume", "hib", timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "hib: RESUMING" in resumed.stdout and resumed.stdout.strip().splitlines()[-1].startswith("hib: AVAILABLE")
    assert mwaa.get_environment(Name="hib")["Environment"]["Status"] == "AVAILABLE"
    airflow = Airflow(plane, "hib")
    assert airflow.get(f"/dags/slow/dagRuns/{run}").json()["state"] == "success"  # finished before hibernation
    assert airflow.run_states("quick") == ["success"]  # history kept
    assert trigger_and_wait(airflow, "quick") == "success"  # and it runs again

    listed = aerodrome(plane.settings.home, "events", "--env", "hib")
    assert listed.returncode == 0, listed.stderr
    listing = listed.stdout.splitlines()
    changes = [line.split()[-1] for line in listing if "Status Change" in line]
    assert changes[-4:] == ["HIBERNATING", "HIBERNATED", "RESUMING", "AVAILABLE"]
    assert any("Hibernation" in line and "draining: 1 task(s) queued or running" in line for line in listing)
