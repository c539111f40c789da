"""DAG sync events: the real bucket sync loop, store and event service (no Airflow). Each sync that
changes an environment's DAG folder is one "Aerodrome Bundle Sync" event with counts and the
mirror's hash; a bucket that did not change makes none."""

import time

import pytest

from tests.support import sync_world, wait_for


@pytest.fixture
def synced(settings, store, tmp_path):
    syncs, events, spec, placement = sync_world(settings, store, tmp_path)
    folder = settings.buckets_dir / "b" / "dags"
    folder.mkdir(parents=True)
    yield events, folder, lambda: syncs.start("dev", spec, placement)
    syncs.stop_all()


def sync_events(events):
    return [e for _, e in events.since(0, environment="dev") if e["detail-type"] == "Aerodrome Bundle Sync"]


def counts(event):
    return {k: event["detail"][k] for k in ("added", "changed", "removed", "skipped")}


def test_each_change_is_one_sync_event_and_an_unchanged_bucket_makes_none(synced):
    events, folder, start = synced
    (folder / "one.py").write_text("# one\n")
    start()
    [first] = sync_events(events)
    assert counts(first) == {"added": 1, "changed": 0, "removed": 0, "skipped": 0}
    detail = first["detail"]
    assert detail["source"] == "s3://b/dags/" and detail["bundleHash"].startswith("sha256:")
    assert first["resources"] == ["arn:aws:airflow:us-east-1:000000000000:environment/dev"]

    time.sleep(1.0)  # ten passes over an unchanged bucket
    assert len(sync_events(events)) == 1

    (folder / "two.py").write_text("# two\n")  # upload a DAG
    second = wait_for(lambda: sync_events(events)[1:], timeout=30, what="the upload's sync event")[0]
    assert counts(second) == {"added": 1, "changed": 0, "removed": 0, "skipped": 0}
    assert second["detail"]["bundleHash"] != detail["bundleHash"]

    (folder / "one.py").write_text("# one, again\n")
    (folder / "two.py").unlink()
    third = wait_for(lambda: sync_events(events)[2:], timeout=30, what="the next sync event")
    assert sum(counts(e)["changed"] for e in third) == 1 and sum(counts(e)["removed"] for e in third) == 1
    time.sleep(0.5)
    assert len(sync_events(events)) == 2 + len(third)
