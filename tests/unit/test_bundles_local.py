import hashlib
import os
import stat

import pytest

from aerodrome import errors
from aerodrome.bundles.local import LocalBucket


@pytest.fixture
def bucket(tmp_path):
    (tmp_path / "buckets" / "b").mkdir(parents=True)
    return LocalBucket(tmp_path / "buckets", "b")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_put_get_head_and_recursive_listing(bucket):
    info = bucket.put("dags/sub/deep/x.py", b"x = 1\n")
    assert (info.key, info.etag, info.size, info.version_id) == ("dags/sub/deep/x.py", md5(b"x = 1\n"), 6, None)
    bucket.put("dags/a.py", b"a")
    bucket.put("requirements.txt", b"boto3\n")
    assert bucket.get("dags/sub/deep/x.py") == b"x = 1\n"
    assert bucket.head("dags/a.py").etag == md5(b"a")
    assert bucket.head("dags/missing.py") is None
    assert [(o.key, o.etag, o.size) for o in bucket.list("dags/")] == [
        ("dags/a.py", md5(b"a"), 1), ("dags/sub/deep/x.py", md5(b"x = 1\n"), 6)]
    assert [o.key for o in bucket.list("")] == ["dags/a.py", "dags/sub/deep/x.py", "requirements.txt"]


def test_prefixes_mean_what_they_mean_in_s3(bucket):
    for key in ("dags/a.py", "dags-old/b.py", "dagsfile", "other/c.py"):
        bucket.put(key, b"1")
    assert [o.key for o in bucket.list("dags")] == ["dags-old/b.py", "dags/a.py", "dagsfile"]
    assert [o.key for o in bucket.list("dags/")] == ["dags/a.py"]
    assert [o.key for o in bucket.list("dags/a")] == ["dags/a.py"]
    assert bucket.list("nothing/") == []


def test_files_in_flight_and_links_are_not_objects_but_dot_files_are(bucket, tmp_path):
    bucket.put("dags/.airflowignore", b"old_.*\n")
    bucket.put("dags/a.py", b"a")
    for name in (".aerodrome-tmp-123", ".rclone_temp_put_a.py", ".rclone_multipart_upload_x", "b.py.abc123.partial"):
        (bucket.root / "dags" / name).write_bytes(b"half")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("secret")
    (bucket.root / "dags" / "link.py").symlink_to(outside / "secret.py")
    (bucket.root / "dags" / "linked-folder").symlink_to(outside)
    os.mkfifo(bucket.root / "dags" / "pipe.py")  # must not block the listing
    assert [o.key for o in bucket.list("dags/")] == ["dags/.airflowignore", "dags/a.py"]
    assert bucket.head("dags/link.py") is None and bucket.head("dags/linked-folder/secret.py") is None
    with pytest.raises(errors.NotFound):
        bucket.get("dags/linked-folder/secret.py")


def test_the_bucket_folder_itself_may_be_a_link(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "dags").mkdir(parents=True)
    (checkout / "dags" / "a.py").write_text("a")
    (tmp_path / "buckets").mkdir()
    (tmp_path / "buckets" / "repo").symlink_to(checkout)
    bucket = LocalBucket(tmp_path / "buckets", "repo")
    assert [o.key for o in bucket.list("dags/")] == ["dags/a.py"]
    assert bucket.get("dags/a.py") == b"a"


def test_a_missing_bucket_is_not_found(tmp_path):
    bucket = LocalBucket(tmp_path, "nope")
    assert not bucket.exists()
    for call in (lambda: bucket.list("dags/"), lambda: bucket.head("a"), lambda: bucket.get("a"),
                 lambda: bucket.put("a", b"1")):
        with pytest.raises(errors.NotFound, match="Bucket nope does not exist"):
            call()


@pytest.mark.parametrize("key", ["../escape.py", "dags/../../x", "/abs.py", "dags//x.py", "dags/./x.py", "dags/",
                                 "", "dags/.aerodrome-tmp-1"])
def test_keys_that_are_not_canonical_paths_are_refused(bucket, key):
    with pytest.raises(errors.Invalid):
        bucket.put(key, b"x")
    with pytest.raises(errors.Invalid):
        bucket.get(key)


def test_put_is_atomic_and_leaves_no_temporary_file(bucket):
    bucket.put("dags/a.py", b"one")
    inode = os.stat(bucket.root / "dags" / "a.py").st_ino
    bucket.put("dags/a.py", b"two")
    path = bucket.root / "dags" / "a.py"
    assert path.read_bytes() == b"two" and os.stat(path).st_ino != inode  # replaced, not rewritten in place
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(p.name for p in (bucket.root / "dags").iterdir()) == ["a.py"]


def test_put_never_writes_through_a_link(bucket, tmp_path):
    (tmp_path / "outside").mkdir()
    (bucket.root / "dags").symlink_to(tmp_path / "outside")
    with pytest.raises(errors.Invalid, match="not a folder"):
        bucket.put("dags/a.py", b"x")
    assert list((tmp_path / "outside").iterdir()) == []


def test_delete_removes_the_folders_it_empties(bucket):
    bucket.put("dags/sub/a.py", b"a")
    bucket.put("dags/b.py", b"b")
    bucket.delete("dags/sub/a.py")
    bucket.delete("dags/never-there.py")
    assert not (bucket.root / "dags" / "sub").exists() and (bucket.root / "dags" / "b.py").exists()
    assert bucket.exists()


def test_a_version_of_a_local_object_is_its_content_hash(bucket):
    info = bucket.put("plugins.zip", b"zip")
    assert bucket.head("plugins.zip", version_id=info.etag) == info
    assert bucket.get("plugins.zip", version_id=info.etag) == b"zip"
    bucket.put("plugins.zip", b"newer zip")
    with pytest.raises(errors.NotFound, match="keeps only the current content.*content hash"):
        bucket.get("plugins.zip", version_id=info.etag)
    with pytest.raises(errors.NotFound, match="has no version 3HL4kqtJlcpXroDTDmJ"):
        bucket.head("plugins.zip", version_id="3HL4kqtJlcpXroDTDmJ")


def test_a_rewrite_with_the_same_size_and_time_still_changes_the_etag(bucket):
    path = bucket.root / "dags" / "a.py"
    bucket.put("dags/a.py", b"aaaa")
    os.utime(path, ns=(10**18, 10**18))  # old enough for its hash to be remembered
    assert bucket.list("dags/")[0].etag == md5(b"aaaa")
    with open(path, "r+b") as handle:  # in place: same inode, same size
        handle.write(b"bbbb")
    os.utime(path, ns=(10**18, 10**18))  # and the same mtime; only ctime tells
    assert bucket.list("dags/")[0].etag == md5(b"bbbb")


def test_a_fresh_rewrite_is_seen_at_once(bucket):
    path = bucket.root / "dags" / "a.py"
    bucket.put("dags/a.py", b"aaaa")
    assert bucket.list("dags/")[0].etag == md5(b"aaaa")
    path.write_bytes(b"bbbb")
    assert bucket.list("dags/")[0].etag == md5(b"bbbb")
