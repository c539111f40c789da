"""kill -9 of the control plane while a replaced worker drains: the next `aerodrome up` adopts the
drain (the worker keeps running its task and exits when it is done) instead of killing it."""

import json
import signal

import httpx
import psutil
import pytest

from tests.support import (
    NETWORK,
    ROLE,
    UNPAUSED,
    ask,
    bash_dags,
    free_port,
    gated,
    mwaa_of_home,
    placement_of_home,
    processes_mentioning,
    release_file,
    start_up,
    status,
    wait_for,
)

pytestmark = pytest.mark.e2e

DAG = bash_dags(long="GATE")


def api(home, name):
    """The environment's placement, and GET and POST on its Airflow REST API (as its admin)."""
    placement = placement_of_home(home, name)
    base = f"http://127.0.0.1:{placement.web_port}"
    password = json.loads((placement.root / "secrets" / "passwords.json").read_text())["admin"]
    token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": password},
                       timeout=30).json()["access_token"]
    return placement, lambda path: httpx.get(f"{base}/api/v2{path}", headers={"Authorization": f"Bearer {token}"},
                                             timeout=30), \
        lambda path: httpx.post(f"{base}/api/v2{path}", json={"logical_date": None},
                                headers={"Authorization": f"Bearer {token}"}, timeout=30)


def draining(placement):
    return {int(p.stem.rsplit("-", 1)[-1]) for p in (placement.root / "run" / "draining").glob("*.pid")}


def test_a_restart_adopts_a_draining_worker(tmp_path, postgres_url):
    home, port, s3_port = tmp_path / "h", free_port(), free_port()  # short: the broker socket lies below
    release = release_file(tmp_path)
    (home / "buckets" / "b" / "dags").mkdir(parents=True)
    (home / "buckets" / "b" / "dags" / "dag.py").write_bytes(gated(DAG, release))
    plane = start_up(home, port, s3_port, postgres_url)
    mwaa = mwaa_of_home(home, port)
    try:
        mwaa.create_environment(Name="d", ExecutionRoleArn=ROLE, SourceBucketArn="arn:aws:s3:::b", DagS3Path="dags",
                                AirflowConfigurationOptions=UNPAUSED, NetworkConfiguration=NETWORK)
        wait_for(lambda: status(mwaa, "d") != "CREATING", timeout=600, interval=1, what="the create")
        placement, get, post = wait_for(ask(lambda: api(home, "d")), timeout=180, what="the Airflow API")
        wait_for(ask(lambda: get("/dags/long").status_code == 200), timeout=180, what="the DAG")
        run = post("/dags/long/dagRuns").json()["dag_run_id"]
        task = f"/dags/long/dagRuns/{run}/taskInstances/t"
        wait_for(ask(lambda: get(task).json()["state"] == "running"), timeout=180, what="the task to run")
        mwaa.update_environment(Name="d", AirflowConfigurationOptions={**UNPAUSED, "aerodrome.marker": "v2"})
        old = wait_for(lambda: draining(placement), timeout=600, interval=0.5, what="the old worker to drain")

        plane.send_signal(signal.SIGKILL)  # while the old worker drains
        plane.wait()
        plane = start_up(home, port, s3_port, postgres_url)
        wait_for(lambda: status(mwaa, "d") == "AVAILABLE", timeout=600, interval=1, what="AVAILABLE after the restart")
        _, get, _ = wait_for(ask(lambda: api(home, "d")), timeout=180, what="the Airflow API")
        # the task still holds its gate: the adopted worker keeps running it
        assert ask(lambda: get(task).json()["state"] == "running")()
        assert all(psutil.pid_exists(pid) for pid in old) and draining(placement) == old
        release.touch()
        wait_for(ask(lambda: get(task).json()["state"] in ("success", "failed")), timeout=300, what="the task")
        finished = get(task).json()
        assert (finished["state"], finished["try_number"]) == ("success", 1), finished
        wait_for(lambda: not draining(placement), timeout=120, what="the adopted drain to end")
    finally:
        plane.send_signal(signal.SIGTERM)
        plane.wait(120)
    left = processes_mentioning(str(home))
    assert left == [], [p.info["cmdline"][:3] for p in left]
