"""kill -9 of the control plane while a replaced worker drains: the next `aerodrome up` adopts the
drain (the worker keeps running its task and exits when it is done) instead of killing it."""

import json
import signal

import boto3
import httpx
import psutil
import pytest
from botocore.config import Config

from aerodrome.services.credentials import CredentialService
from aerodrome.store import environments as rows
from aerodrome.store.db import Store
from tests.api.conftest import free_port
from tests.e2e.conftest import wait_for
from tests.e2e.test_restart import start
from tests.e2e.test_rolling_update import ask

pytestmark = pytest.mark.e2e

DAG = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("long", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="sleep 90")
'''
OPTIONS = {"core.dags_are_paused_at_creation": "False"}


def api(home, name):
    store = Store(f"sqlite:///{home / 'aerodrome.db'}")
    with store.session() as session:
        placement = rows.get(name, session=session).placement
    store.close()
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


def test_a_restart_adopts_a_draining_worker(tmp_path):
    home, port, s3_port = tmp_path / "home", free_port(), free_port()
    (home / "buckets" / "b" / "dags").mkdir(parents=True)
    (home / "buckets" / "b" / "dags" / "dag.py").write_bytes(DAG)
    plane = start(home, port, s3_port)
    store = Store(f"sqlite:///{home / 'aerodrome.db'}")
    key, secret = CredentialService(store=store).admin()
    store.close()
    mwaa = boto3.client("mwaa", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))
    status = lambda: mwaa.get_environment(Name="d")["Environment"]["Status"]  # noqa: E731
    try:
        mwaa.create_environment(Name="d", ExecutionRoleArn="arn:aws:iam::000000000000:role/x",
                                SourceBucketArn="arn:aws:s3:::b", DagS3Path="dags", AirflowConfigurationOptions=OPTIONS,
                                NetworkConfiguration={"SubnetIds": ["subnet-a", "subnet-b"],
                                                      "SecurityGroupIds": ["sg-a"]})
        wait_for(lambda: status() != "CREATING", timeout=600, interval=1, what="the create")
        placement, get, post = wait_for(ask(lambda: api(home, "d")), timeout=180, what="the Airflow API")
        wait_for(ask(lambda: get("/dags/long").status_code == 200), timeout=180, what="the DAG")
        run = post("/dags/long/dagRuns").json()["dag_run_id"]
        task = f"/dags/long/dagRuns/{run}/taskInstances/t"
        wait_for(ask(lambda: get(task).json()["state"] == "running"), timeout=180, what="the task to run")
        mwaa.update_environment(Name="d", AirflowConfigurationOptions={**OPTIONS, "aerodrome.marker": "v2"})
        old = wait_for(lambda: draining(placement), timeout=600, interval=0.5, what="the old worker to drain")

        plane.send_signal(signal.SIGKILL)  # while the old worker drains
        plane.wait()
        plane = start(home, port, s3_port)
        wait_for(lambda: status() == "AVAILABLE", timeout=600, interval=1, what="AVAILABLE after the restart")
        _, get, _ = wait_for(ask(lambda: api(home, "d")), timeout=180, what="the Airflow API")
        if ask(lambda: get(task).json()["state"] == "running")():
            assert all(psutil.pid_exists(pid) for pid in old) and draining(placement) == old
        wait_for(ask(lambda: get(task).json()["state"] in ("success", "failed")), timeout=300, what="the task")
        finished = get(task).json()
        assert (finished["state"], finished["try_number"]) == ("success", 1), finished
        wait_for(lambda: not draining(placement), timeout=120, what="the adopted drain to end")
    finally:
        plane.send_signal(signal.SIGTERM)
        plane.wait(120)
    left = [p for p in psutil.process_iter(["cmdline"]) if str(home) in " ".join(p.info["cmdline"] or [])]
    assert left == [], [p.info["cmdline"][:3] for p in left]
