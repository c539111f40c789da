"""Snapshots end to end: save an environment with a DAG run, a variable, a connection with a
password and a pool; load it into a new environment (the Fernet key travels, so the password
decrypts) and back into the same one after changes (the changes are gone); a tampered file is
refused with nothing changed; list and prune."""

import json

import pytest

from tests.support import (
    UNPAUSED,
    Patient,
    aerodrome,
    airflow_cli,
    bash_dags,
    create,
    events_of,
    trigger_and_wait,
    wait_for,
)

pytestmark = pytest.mark.e2e

DAG = bash_dags(quick="echo ok").encode()
PASSWORD = "pa55-w0rd-kept-secret"


def cli(plane, *args):
    return aerodrome(plane.settings.home, "snapshot", *args)


def seed(airflow):
    assert airflow.post("/variables", {"key": "colour", "value": "blue"}).status_code in (200, 201)
    connection = {"connection_id": "warehouse", "conn_type": "postgres", "host": "db.example", "login": "etl",
                  "password": PASSWORD}
    assert airflow.post("/connections", connection).status_code in (200, 201)
    assert airflow.post("/pools", {"name": "small", "slots": 2}).status_code in (200, 201)


def connection_password(plane, name):
    Patient(plane, name)  # once its API answers
    shown = airflow_cli(plane, name, "connections", "get", "warehouse", "-o", "json")
    assert shown.returncode == 0, shown.stderr[-800:]
    return json.loads(shown.stdout)[0]["password"]


def test_save_load_new_and_same_tamper_list_prune(plane, clients):
    mwaa, s3 = clients
    env = create(mwaa, s3, "snap", "snap-bucket", DAG,
                 AirflowConfigurationOptions=UNPAUSED)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = Patient(plane, "snap")
    wait_for(lambda: airflow.get("/dags/quick").status_code == 200, timeout=300, what="the DAG to appear")
    assert trigger_and_wait(airflow, "quick", timeout=600) == "success"
    seed(airflow)

    saved = cli(plane, "save", "snap")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    snapshot_id = saved.stdout.strip()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="snap-bucket", Prefix="aerodrome-snapshots/snap/")["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys if snapshot_id in k) == ["manifest.json", "metadata.dump",
                                                                            "secrets.sealed"]
    manifest_raw = s3.get_object(Bucket="snap-bucket", Key=f"aerodrome-snapshots/snap/{snapshot_id}/manifest.json")
    manifest_raw = manifest_raw["Body"].read()
    fernet = (airflow.placement.root / "secrets" / "fernet.secret").read_text().strip()
    sealed = s3.get_object(Bucket="snap-bucket", Key=f"aerodrome-snapshots/snap/{snapshot_id}/secrets.sealed")
    assert fernet.encode() not in manifest_raw and fernet.encode() not in sealed["Body"].read()
    manifest = json.loads(manifest_raw)
    assert manifest["counts"] == {"dagRuns": 1, "connections": 1, "variables": 1, "pools": 2}
    assert manifest["airflowVersion"] == "3.3.2" and manifest["spec"]["name"] == "snap"
    listed = cli(plane, "list", "snap")
    assert listed.returncode == 0 and snapshot_id in listed.stdout, listed.stderr

    # into a new environment: history, variable, pool, and a connection whose password decrypts
    loaded = cli(plane, "load", snapshot_id, "--into", "snap-copy")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "verified: 1 dagRuns, 1 connections, 1 variables, 2 pools" in loaded.stdout
    assert loaded.stdout.strip().splitlines()[-1].startswith("snap-copy: AVAILABLE")
    copy = Patient(plane, "snap-copy")
    assert copy.placement.env_id != airflow.placement.env_id
    assert copy.get("/variables/colour").json()["value"] == "blue"
    assert copy.get("/pools/small").json()["slots"] == 2
    assert copy.run_states("quick") == ["success"]
    assert connection_password(plane, "snap-copy") == PASSWORD
    assert trigger_and_wait(copy, "quick", timeout=600) == "success"
    mwaa.delete_environment(Name="snap-copy")  # frees the host for the rest

    # back into the same environment after changes: the changes are gone
    assert airflow.post("/variables", {"key": "later", "value": "x"}).status_code in (200, 201)
    assert airflow.call("DELETE", "/pools/small").status_code == 204
    assert trigger_and_wait(airflow, "quick", timeout=600) == "success"
    loaded = cli(plane, "load", snapshot_id)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "snap: UPDATING" in loaded.stdout and "verified" in loaded.stdout
    assert mwaa.get_environment(Name="snap")["Environment"]["Status"] == "AVAILABLE"
    airflow = Patient(plane, "snap")
    assert airflow.get("/variables/later").status_code == 404
    assert airflow.get("/pools/small").json()["slots"] == 2
    assert airflow.run_states("quick") == ["success"]
    assert connection_password(plane, "snap") == PASSWORD

    # a changed file: a clear error, and nothing changed
    assert airflow.post("/variables", {"key": "after-load", "value": "y"}).status_code in (200, 201)
    s3.put_object(Bucket="snap-bucket", Key=f"aerodrome-snapshots/snap/{snapshot_id}/metadata.dump", Body=b"junk")
    refused = cli(plane, "load", snapshot_id)
    assert refused.returncode == 1
    assert f"Snapshot {snapshot_id}: file metadata.dump is corrupted" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert mwaa.get_environment(Name="snap")["Environment"]["Status"] == "AVAILABLE"
    assert airflow.get("/variables/after-load").status_code == 200

    # prune keeps the newest N
    newer = [cli(plane, "save", "snap").stdout.strip() for _ in range(2)]
    pruned = cli(plane, "prune", "snap", "--keep", "2")
    assert pruned.returncode == 0 and f"deleted {snapshot_id}" in pruned.stdout, pruned.stdout + pruned.stderr
    assert [s["id"] for s in plane.snapshots.list("snap")] == newer

    events = [e["detail"] for e in events_of(plane, "snap", "Aerodrome Environment Snapshot")]
    phases = [(e["phase"], e.get("result")) for e in events]
    assert phases[:2] == [("saving", None), ("saved", "success")]
    assert ("loaded", "verified") in phases and ("pruned", "success") in phases
    assert all(e["arn"].endswith(":environment/snap") for e in events)
    assert PASSWORD not in json.dumps(events) and fernet not in json.dumps(events)
