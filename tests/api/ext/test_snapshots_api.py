"""Snapshot requests through the real Aerodrome API, SigV4-signed as boto3 signs, with the real
service, store and local bucket; the runtime part (pg_dump, the driver's restore) is a stand-in here
(conftest.py) and real in tests/e2e/test_snapshots.py. No reconciler runs, so statuses stay where
the requests leave them."""

import json

import pytest

from aerodrome.cli.ext_client import ExtClient, ExtError
from aerodrome.domain.status import Status
from aerodrome.store import environments as rows
from tests.support import minimal


def available(plane, mwaa, name):
    """An environment that has run (a snapshot keeps the spec that served)."""
    mwaa.create_environment(**minimal(Name=name))
    with plane["store"].session() as session:
        record = rows.get(name, session=session)
        rows.mark_applied(name, generation=record.generation, spec=record.spec, session=session)
        rows.transition(name, Status.AVAILABLE, session=session)


def snapshot_file(plane, name, snapshot_id, file):
    return plane["settings"].buckets_dir / "my-bucket" / "aerodrome-snapshots" / name / snapshot_id / file


def test_save_list_and_bad_requests(plane, mwaa):
    client = ExtClient(plane["settings"])
    with pytest.raises(ExtError, match="Environment nope not found") as raised:
        client.request("POST", "/environments/nope/snapshots")
    assert raised.value.code == "ResourceNotFoundException"
    mwaa.create_environment(**minimal(Name="dev"))
    with pytest.raises(ExtError, match="dev is CREATING; only an environment that has run can be saved"):
        client.request("POST", "/environments/dev/snapshots")
    with plane["store"].session() as session:
        record = rows.get("dev", session=session)
        rows.mark_applied("dev", generation=record.generation, spec=record.spec, session=session)
        rows.transition("dev", Status.AVAILABLE, session=session)

    saved = client.request("POST", "/environments/dev/snapshots")
    assert saved["environment"] == "dev" and saved["bucket"] == "my-bucket"
    assert saved["counts"] == {"dagRuns": 1, "connections": 1, "variables": 1, "pools": 2}
    assert [f["name"] for f in saved["files"]] == ["metadata.dump", "secrets.sealed"]
    manifest = snapshot_file(plane, "dev", saved["id"], "manifest.json").read_text()
    sealed = snapshot_file(plane, "dev", saved["id"], "secrets.sealed").read_bytes()
    assert "the-fernet-key" not in manifest and b"the-fernet-key" not in sealed
    listing = client.request("GET", "/snapshots", query={"environment": "dev"})["Snapshots"]
    assert [s["id"] for s in listing] == [saved["id"]] and "spec" not in listing[0]

    for body, message in (({"Keep": "2"}, "Keep must be a whole number"), ({"Keep": -1}, "Keep must be"),
                          ({}, "Keep must be")):
        with pytest.raises(ExtError, match=message) as raised:
            client.request("POST", "/environments/dev/snapshots/prune", body=body)
        assert raised.value.code == "ValidationException"
    with pytest.raises(ExtError, match="'nope' is not a snapshot id"):
        client.request("POST", "/snapshots/nope/load")
    with pytest.raises(ExtError, match="Snapshot 20260101T000000Z-abcdef not found") as raised:
        client.request("POST", "/snapshots/20260101T000000Z-abcdef/load")
    assert raised.value.code == "ResourceNotFoundException"
    with pytest.raises(ExtError, match="'9lives' is not a valid environment name"):
        client.request("POST", f"/snapshots/{saved['id']}/load", body={"Into": "9lives"})
    with pytest.raises(ExtError, match="Into must be a non-empty string"):
        client.request("POST", f"/snapshots/{saved['id']}/load", body={"Into": 3})
    with pytest.raises(ExtError, match="No Aerodrome operation"):
        client.request("GET", "/environments/dev/snapshots")
    with pytest.raises(ExtError, match="already exists"):
        client.request("POST", f"/snapshots/{saved['id']}/load", body={"Into": "dev"})
    assert plane["runtime"].staged == []

    # a changed file is refused before anything is staged or any status moves
    dump = snapshot_file(plane, "dev", saved["id"], "metadata.dump")
    dump.write_bytes(b"changed")
    with pytest.raises(ExtError, match=f"Snapshot {saved['id']}: file metadata.dump is corrupted") as raised:
        client.request("POST", f"/snapshots/{saved['id']}/load")
    assert raised.value.code == "ValidationException"
    assert plane["runtime"].staged == []
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "AVAILABLE"


def test_load_stages_the_restore_and_moves_the_status(plane, mwaa):
    client = ExtClient(plane["settings"])
    available(plane, mwaa, "dev")
    saved = client.request("POST", "/environments/dev/snapshots")
    into = client.request("POST", f"/snapshots/{saved['id']}/load", body={"Into": "copy"})
    assert (into["Name"], into["Status"], into["Snapshot"]) == ("copy", "CREATING", saved["id"])
    same = client.request("POST", f"/snapshots/{saved['id']}/load")
    assert (same["Name"], same["Status"]) == ("dev", "UPDATING")
    staged = plane["runtime"].staged
    assert [s["secrets"] for _, s in staged] == [{"fernet.secret": "the-fernet-key"}] * 2
    assert staged[0][1]["dump"] == b"PGDMP stand-in dump" and staged[0][0] != staged[1][0]
    with pytest.raises(ExtError, match="dev is UPDATING; a snapshot loads into it when"):
        client.request("POST", f"/snapshots/{saved['id']}/load")
    events = [e["detail"] for e in client.request("GET", "/events")["events"]
              if e["detail-type"] == "Aerodrome Environment Snapshot"]
    assert [(e["name"], e["phase"]) for e in events] == [("dev", "saving"), ("dev", "saved"), ("copy", "loading"),
                                                         ("dev", "loading")]
    assert "the-fernet-key" not in json.dumps(events)


def test_policies_decide_who_may_save_load_list_and_prune(plane, mwaa):
    available(plane, mwaa, "dev")
    available(plane, mwaa, "prod")
    admin = ExtClient(plane["settings"])
    prod_snapshot = admin.request("POST", "/environments/prod/snapshots")["id"]
    key = plane["principals"].create("operator")
    plane["principals"].attach("operator", "p", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["airflow:SaveSnapshot", "airflow:ListSnapshots", "airflow:LoadSnapshot"],
         "Resource": "arn:aws:airflow:*:*:environment/dev*"}]}))
    operator = ExtClient(plane["settings"], access_key=key)

    dev_snapshot = operator.request("POST", "/environments/dev/snapshots")["id"]
    assert [s["id"] for s in operator.request("GET", "/snapshots", query={"environment": "dev"})["Snapshots"]] == [
        dev_snapshot]
    with pytest.raises(ExtError, match="operator is not authorized to perform: airflow:SaveSnapshot") as denied:
        operator.request("POST", "/environments/prod/snapshots")
    assert denied.value.code == "AccessDeniedException"
    with pytest.raises(ExtError, match="airflow:ListSnapshots"):  # every environment's snapshots need more
        operator.request("GET", "/snapshots")
    with pytest.raises(ExtError, match="airflow:LoadSnapshot"):
        operator.request("POST", f"/snapshots/{prod_snapshot}/load")
    with pytest.raises(ExtError, match="airflow:CreateEnvironment"):  # a load into a new environment creates it
        operator.request("POST", f"/snapshots/{dev_snapshot}/load", body={"Into": "dev2"})
    with pytest.raises(ExtError, match="airflow:PruneSnapshots"):
        operator.request("POST", "/environments/dev/snapshots/prune", body={"Keep": 0})
    assert plane["runtime"].staged == []
    assert operator.request("POST", f"/snapshots/{dev_snapshot}/load")["Status"] == "UPDATING"

    pruned = admin.request("POST", "/environments/prod/snapshots/prune", body={"Keep": 0})
    assert pruned == {"Deleted": [prod_snapshot], "Kept": []}
    assert admin.request("GET", "/snapshots", query={"environment": "prod"})["Snapshots"] == []
