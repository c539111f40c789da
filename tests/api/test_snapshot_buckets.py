"""Snapshot files in a bucket through both adapters: a local directory, and S3 (rclone serving
that directory, driven by S3Bucket/boto3): write, list, find, verified read, delete."""

import pytest

from aerodrome import errors
from aerodrome.bundles import resolve
from aerodrome.bundles.local import LocalBucket
from aerodrome.domain import snapshots as snaps
from aerodrome.services.snapshot_files import SnapshotFiles, digest
from tests.support import s3_bucket


@pytest.fixture(params=["local", "s3"])
def bucket(request, served, server):
    bucket_dir = resolve.ensure_local_bucket(served[1], f"snapshots-{request.param}")
    if request.param == "local":
        return LocalBucket(bucket_dir.parent, bucket_dir.name)
    return s3_bucket(server, bucket_dir.name)


def saved(bucket, environment, snapshot_id, folder):
    files = {snaps.DUMP: b"PGDMP dump bytes", snaps.SECRETS: b"sealed"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest = snaps.manifest(snapshot_id=snapshot_id, environment=environment, arn="arn", created=0.0,
                              spec={"airflow_version": "3.3.2"}, bucket=bucket.name,
                              files=[snaps.file_entry(n, d) for n, d in files.items()],
                              counts={"dagRuns": 0, "connections": 0, "variables": 0, "pools": 1})
    SnapshotFiles.write(bucket, manifest, {name: folder / name for name in files})
    return manifest


def test_write_list_find_read_delete(bucket, tmp_path):
    first = saved(bucket, "dev", "20260101T000000Z-aaaaaa", tmp_path)
    second = saved(bucket, "dev", "20260102T000000Z-bbbbbb", tmp_path)
    saved(bucket, "prod", "20260103T000000Z-cccccc", tmp_path)
    into = tmp_path / "read"
    into.mkdir()
    bucket.put(f"{snaps.folder('dev', '20260104T000000Z-dddddd')}{snaps.DUMP}", b"unfinished: no manifest")
    assert [m["id"] for m in SnapshotFiles.manifests(bucket, environment="dev")] == [first["id"], second["id"]]
    assert len(SnapshotFiles.manifests(bucket)) == 3
    assert SnapshotFiles.find(bucket, second["id"]) == second
    assert SnapshotFiles.find(bucket, "20260104T000000Z-dddddd") is None
    assert SnapshotFiles.read(bucket, second, into)[snaps.DUMP].read_bytes() == b"PGDMP dump bytes"

    bucket.put(f"{snaps.folder('dev', second['id'])}{snaps.SECRETS}", b"sealeD")
    with pytest.raises(errors.Invalid, match=f"{second['id']}: file secrets.sealed is corrupted"):
        SnapshotFiles.read(bucket, second, into)
    bucket.delete(f"{snaps.folder('dev', second['id'])}{snaps.DUMP}")
    with pytest.raises(errors.Invalid, match="file metadata.dump is missing"):
        SnapshotFiles.read(bucket, second, into)

    SnapshotFiles.delete(bucket, first)
    assert bucket.list(snaps.folder("dev", first["id"])) == []
    assert [m["id"] for m in SnapshotFiles.manifests(bucket, environment="dev")] == [second["id"]]


def test_a_large_file_streams_through_s3_in_parts(served, server, tmp_path):
    """Above 64 MiB a file goes up as a multipart upload and comes down in chunks; neither side holds
    it whole."""
    bucket = s3_bucket(server, resolve.ensure_local_bucket(served[1], "snapshots-large").name)
    source = tmp_path / "large.dump"
    with open(source, "wb") as handle:
        for index in range(70):
            handle.write(bytes([index]) * (1 << 20))
    parts = []
    bucket._client.meta.events.register("before-call.s3.UploadPart", lambda **_: parts.append(1))
    put = bucket.put_file("aerodrome-snapshots/dev/x/metadata.dump", source)
    assert put.size == 70 << 20
    assert len(parts) == 2  # 64 MiB + 6 MiB
    copy = tmp_path / "copy.dump"
    bucket.get_file("aerodrome-snapshots/dev/x/metadata.dump", copy)
    assert digest(copy) == digest(source)
    with pytest.raises(errors.NotFound):
        bucket.get_file("aerodrome-snapshots/dev/x/missing.dump", tmp_path / "missing")
