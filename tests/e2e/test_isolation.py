"""Two tenants on one host: a task in environment A tries every reach into environment B and into the
control plane, and each is refused, while A's own files, DAG runs, task logs and CLI bridge work.

Isolation between environments is made of OS users, which only root can create: the control plane
runs as root on a server and in CI; as another user it says at start that environments are not
isolated, and this test cannot apply."""

import json
import os
import subprocess

import psutil
import pytest

from tests.support import (
    NETWORK,
    ROLE,
    Airflow,
    airflow_cli,
    component_pid,
    events_of,
    metadata_server,
    status,
    trigger,
    unpause,
    wait_for,
    wait_run,
)

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(os.geteuid() != 0, reason="environments get OS users of their own only under root")]

PROBE = b'''
import datetime, os, socket
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def attempt(action):
    try:
        action()
    except Exception as exc:  # what refused it
        return "refused: " + type(exc).__name__
    return "reached"


def read(path):
    with open(path, "rb") as handle:
        handle.read(1)


def database(name, params):
    """Connect to database `name` as A's own role, with the password A keeps in its folder."""
    import psycopg2
    with open(params["a_password_file"]) as handle:
        password = handle.read().strip()
    host, port = params["database_address"].rsplit(":", 1)
    psycopg2.connect(host=host, port=int(port), user=params["a_role"], password=password, dbname=name,
                     connect_timeout=10).close()


def broker(path):
    own = os.environ["AIRFLOW__CELERY__BROKER_URL"].split("//:", 1)[1].split("@", 1)[0]
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall(("AUTH " + own + "\\r\\n").encode())
        reply = sock.recv(100)
    if not reply.startswith(b"+OK"):
        raise PermissionError(reply.decode(errors="replace").strip())


def probe(**context):
    t = context["params"]
    reaches = {
        "the store": lambda: read(t["store"]),
        "the TLS private key": lambda: read(t["ca_key"]),
        "the control plane's buckets": lambda: os.listdir(t["buckets"]),
        "B's bucket, read as a file": lambda: read(t["b_bucket_dag"]),
        "B's folder": lambda: os.listdir(t["b_root"]),
        "B's DAG": lambda: read(t["b_dag"]),
        "B's Fernet key": lambda: read(t["b_fernet"]),
        "B's database, with A's role": lambda: database(t["b_database"], t),
        "B's broker, with A's password": lambda: broker(t["b_broker"]),
        "a signal to B's scheduler": lambda: os.kill(t["b_pid"], 0),
        "B's /proc environ": lambda: read(f"/proc/{t['b_pid']}/environ"),
        "a signal to the control plane": lambda: os.kill(t["plane_pid"], 0),
        "the control plane's /proc environ": lambda: read(f"/proc/{t['plane_pid']}/environ"),
    }
    own = {  # the same kinds of reach into A itself: these must work
        "A's DAG": lambda: read(t["a_dag"]),
        "A's Fernet key": lambda: read(t["a_fernet"]),
        "A's database": lambda: database(t["a_database"], t),
    }
    return {"foreign": {k: attempt(v) for k, v in reaches.items()}, "own": {k: attempt(v) for k, v in own.items()}}


with DAG("probe", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="probe", python_callable=probe)
'''
OTHER = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("other", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    BashOperator(task_id="t", bash_command="echo other")
'''


def test_a_task_in_one_environment_reaches_nothing_of_another(plane, clients):
    mwaa, s3 = clients
    for name, dag in (("tenant-a", PROBE), ("tenant-b", OTHER)):  # both start at once
        s3.create_bucket(Bucket=f"{name}-bucket")
        s3.put_object(Bucket=f"{name}-bucket", Key="dags/dag.py", Body=dag)
        mwaa.create_environment(Name=name, ExecutionRoleArn=ROLE, SourceBucketArn=f"arn:aws:s3:::{name}-bucket",
                                DagS3Path="dags", NetworkConfiguration=NETWORK)
    for name in ("tenant-a", "tenant-b"):
        wait_for(lambda n=name: status(mwaa, n) != "CREATING", timeout=600, interval=1, what=f"{name} to be created")
        assert status(mwaa, name) == "AVAILABLE", mwaa.get_environment(Name=name)["Environment"]["LastUpdate"]
    a, b = Airflow(plane, "tenant-a"), Airflow(plane, "tenant-b")
    a_root, b_root = a.placement.root, b.placement.root
    home = plane.settings.home
    b_pid = component_pid(plane, b.placement, "scheduler-1")
    assert b_pid
    targets = {
        "store": str(home / "aerodrome.db"), "ca_key": str(plane.settings.tls_dir / "ca.key"),
        "buckets": str(plane.settings.buckets_dir),
        "b_bucket_dag": str(plane.settings.buckets_dir / "tenant-b-bucket" / "dags" / "dag.py"),
        "b_root": str(b_root), "b_dag": str(b_root / "dags" / "dag.py"),
        "b_fernet": str(b_root / "secrets" / "fernet.secret"), "b_database": f"env_{b.placement.env_id}",
        "b_broker": str(b_root / "run" / "broker" / "redis.sock"), "b_pid": b_pid, "plane_pid": os.getpid(),
        "a_dag": str(a_root / "dags" / "dag.py"), "a_fernet": str(a_root / "secrets" / "fernet.secret"),
        "a_database": f"env_{a.placement.env_id}", "a_role": f"env_{a.placement.env_id}",
        "a_password_file": str(a_root / "secrets" / "db.secret"),
        "database_address": metadata_server(plane).address,
    }
    for path in ("store", "ca_key", "b_bucket_dag", "b_dag", "b_fernet", "b_broker", "a_dag"):
        assert os.path.exists(targets[path]), path  # each target is real: a refusal is not a typo
    wait_for(lambda: a.get("/dags/probe").status_code == 200, timeout=120, what="the probe DAG")
    unpause(a, "probe")
    run_id = trigger(a, "probe", {"logical_date": None, "conf": targets})
    assert wait_run(a, "probe", run_id) == "success"
    reply = a.get(f"/dags/probe/dagRuns/{run_id}/taskInstances/probe/xcomEntries/return_value")
    assert reply.status_code == 200, reply.text
    value = reply.json()["value"]
    result = value if isinstance(value, dict) else json.loads(value)
    assert all(v.startswith("refused") for v in result["foreign"].values()), result["foreign"]
    assert set(result["own"].values()) == {"reached"}, result["own"]

    # A's own task log and CLI bridge keep working, as A's user
    logs = a.get(f"/dags/probe/dagRuns/{run_id}/taskInstances/probe/logs/1?full_content=true")
    assert logs.status_code == 200 and "Done. Returned value was" in logs.text, logs.text[-500:]
    listed = airflow_cli(plane, "tenant-a", "dags", "list", "-o", "json")
    assert listed.returncode == 0 and "probe" in listed.stdout, listed.stderr[-500:]
    # no secret of A's, nor the admin's, shows in a log, an event, an API listing, `ps` or a snapshot manifest
    secrets = {path.name: path.read_text().strip() for path in (a_root / "secrets").glob("*.secret")}
    secrets["admin secret key"] = plane.credentials.admin()[1]
    saved = plane.snapshots.save("tenant-a")
    manifest_key = f"aerodrome-snapshots/tenant-a/{saved['id']}/manifest.json"
    seen = {
        "logs": "".join(p.read_text(errors="replace") for folder in (plane.settings.logs_dir, a.placement.logs_dir)
                        for p in folder.rglob("*") if p.is_file()),
        "events": json.dumps(events_of(plane, "tenant-a")),
        "listings": json.dumps([mwaa.get_environment(Name="tenant-a"), mwaa.list_environments()], default=str),
        "ps": subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout,
        "manifest": s3.get_object(Bucket="tenant-a-bucket", Key=manifest_key)["Body"].read().decode(),
    }
    assert len(secrets) >= 5 and all(len(v) >= 16 for v in secrets.values()), sorted(secrets)
    leaked = [(name, where) for name, value in secrets.items() for where, text in seen.items() if value in text]
    assert leaked == []

    # B's processes all run as B's own user
    scheduler = psutil.Process(b_pid)
    owners = {p.username() for p in [scheduler, *scheduler.children(recursive=True)]}
    assert owners == {f"aerodrome-{b.placement.env_id}"}
