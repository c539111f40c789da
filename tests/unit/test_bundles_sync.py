import hashlib
import os
import stat

import pytest

from aerodrome import errors
from aerodrome.bundles.base import ObjectInfo
from aerodrome.bundles.local import LocalBucket
from aerodrome.bundles.sync import manifest_path, sync_prefix


@pytest.fixture
def bucket(tmp_path):
    (tmp_path / "buckets" / "b").mkdir(parents=True)
    return LocalBucket(tmp_path / "buckets", "b")


class Counting:
    """A bucket that counts downloads."""

    def __init__(self, inner):
        self.inner, self.name, self.gets = inner, inner.name, []

    def list(self, prefix):
        return self.inner.list(prefix)

    def get(self, key, *, version_id=None):
        self.gets.append(key)
        return self.inner.get(key, version_id=version_id)


class Listing:
    """A bucket whose listing is given; downloads return the key's bytes."""

    def __init__(self, *keys):
        self.name, self.keys, self.gets = "fake", keys, []

    def list(self, prefix):
        return [ObjectInfo(key=k, etag=hashlib.md5(k.encode()).hexdigest(), size=len(k)) for k in self.keys]

    def get(self, key, *, version_id=None):
        self.gets.append(key)
        return key.encode()


def files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def test_mirror_adds_changes_and_removes(bucket, tmp_path):
    target = tmp_path / "env" / "dags"
    bucket.put("dags/a.py", b"a = 1\n")
    bucket.put("dags/sub/b.py", b"b = 1\n")
    bucket.put("dags/sub/deeper/c.py", b"c = 1\n")
    bucket.put("other/c.py", b"not a dag\n")
    first = sync_prefix(bucket, "dags", target)
    assert first.added == ("a.py", "sub/b.py", "sub/deeper/c.py") and first.errors == ()
    assert (target / "sub" / "b.py").read_text() == "b = 1\n"
    assert files(target) == ["a.py", "sub/b.py", "sub/deeper/c.py"]

    bucket.put("dags/a.py", b"a = 2\n")
    bucket.delete("dags/sub/b.py")
    bucket.delete("dags/sub/deeper/c.py")
    second = sync_prefix(bucket, "dags/", target)
    assert (second.added, second.changed, second.removed) == ((), ("a.py",), ("sub/b.py", "sub/deeper/c.py"))
    assert (target / "a.py").read_text() == "a = 2\n"
    assert not (target / "sub").exists()  # empty folders go too
    assert sync_prefix(bucket, "/dags/", target).changes == 0


def test_prefix_forms_and_the_whole_bucket(bucket, tmp_path):
    bucket.put("dags/a.py", b"a")
    bucket.put("dags-old/x.py", b"x")  # shares the string "dags" but is another folder
    for prefix in ("dags", "dags/", "/dags"):
        target = tmp_path / prefix.replace("/", "_")
        sync_prefix(bucket, prefix, target)
        assert files(target) == ["a.py"]
    sync_prefix(bucket, "", tmp_path / "all")
    assert files(tmp_path / "all") == ["dags-old/x.py", "dags/a.py"]


def test_written_files_are_whole_readable_and_alone(bucket, tmp_path):
    bucket.put("dags/a.py", b"a" * 100_000)
    target = tmp_path / "dags"
    sync_prefix(bucket, "dags", target)
    assert sorted(os.listdir(tmp_path)) == [".dags.sync.json", "buckets", "dags"]  # no temporary file left
    assert os.listdir(target) == ["a.py"] and (target / "a.py").read_bytes() == b"a" * 100_000
    assert stat.S_IMODE(os.stat(target / "a.py").st_mode) == 0o644


@pytest.mark.parametrize("key", ["dags/../../escape.py", "dags//etc/passwd", "dags/./x.py", "dags/a\\..\\b.py",
                                 "dags/sub/../../../escape.py", "dags/.aerodrome-tmp-x"])
def test_keys_that_would_leave_the_folder_are_skipped_and_reported(tmp_path, key):
    fake = Listing(key, "dags/ok.py")
    result = sync_prefix(fake, "dags", tmp_path / "env" / "dags")
    assert result.added == ("ok.py",)
    assert len(result.errors) == 1 and result.errors[0].startswith(f"{key}: not mirrored")
    assert fake.gets == ["dags/ok.py"]
    assert files(tmp_path) == ["env/.dags.sync.json", "env/dags/ok.py"]


def test_folder_markers_are_not_files_and_a_key_used_as_a_folder_is_reported(tmp_path):
    fake = Listing("dags/", "dags/sub/", "dags/a", "dags/a/b.py")
    result = sync_prefix(fake, "dags", tmp_path / "dags")
    assert result.added == ("a/b.py",)
    assert result.errors == ("dags/a: not mirrored, other keys use it as a folder",)


def test_unchanged_files_are_not_downloaded_again_after_a_restart(bucket, tmp_path):
    target = tmp_path / "dags"
    for i in range(5):
        bucket.put(f"dags/f{i}.py", str(i).encode())
    first = Counting(bucket)
    sync_prefix(first, "dags", target)
    assert len(first.gets) == 5
    restarted = Counting(LocalBucket(tmp_path / "buckets", "b"))  # a new process: new objects, same files
    assert sync_prefix(restarted, "dags", target).changes == 0
    assert restarted.gets == []


def test_a_lost_manifest_costs_downloads_but_no_rewrites(bucket, tmp_path):
    target = tmp_path / "dags"
    bucket.put("dags/a.py", b"a")
    sync_prefix(bucket, "dags", target)
    inode = os.stat(target / "a.py").st_ino
    manifest_path(target).unlink()
    result = sync_prefix(bucket, "dags", target)
    assert result.changes == 0 and os.stat(target / "a.py").st_ino == inode  # Airflow sees no change
    manifest_path(target).write_text("{not json")
    assert sync_prefix(bucket, "dags", target).changes == 0


def test_local_edits_and_strays_in_the_mirror_are_undone(bucket, tmp_path):
    target = tmp_path / "dags"
    bucket.put("dags/a.py", b"original")
    sync_prefix(bucket, "dags", target)
    (target / "a.py").write_text("edited by hand")
    (target / "stray.py").write_text("x")
    (target / ".aerodrome-tmp-leftover").write_text("half")
    result = sync_prefix(bucket, "dags", target)
    assert result.changed == ("a.py",) and result.removed == ("stray.py",)
    assert (target / "a.py").read_text() == "original" and files(target) == ["a.py"]


def test_links_in_the_mirror_are_removed_never_followed(bucket, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("must survive")
    target = tmp_path / "dags"
    target.mkdir()
    (target / "sub").symlink_to(outside)  # a folder the bucket also has
    (target / "link.py").symlink_to(outside / "keep.txt")
    (target / "dangling.py").symlink_to(tmp_path / "nowhere")
    bucket.put("dags/sub/a.py", b"a")
    result = sync_prefix(bucket, "dags", target)
    assert result.added == ("sub/a.py",)
    assert files(target) == ["sub/a.py"] and not (target / "sub").is_symlink()
    assert files(outside) == ["keep.txt"] and (outside / "keep.txt").read_text() == "must survive"


def test_python_caches_stay_while_their_folder_does(bucket, tmp_path):
    target = tmp_path / "dags"
    bucket.put("dags/sub/a.py", b"a")
    sync_prefix(bucket, "dags", target)
    (target / "sub" / "__pycache__").mkdir()
    (target / "sub" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert sync_prefix(bucket, "dags", target).changes == 0
    assert (target / "sub" / "__pycache__" / "a.cpython-311.pyc").exists()
    bucket.delete("dags/sub/a.py")
    assert sync_prefix(bucket, "dags", target).removed == ("sub/a.py",)
    assert not (target / "sub").exists()


def test_a_file_replaces_a_folder_of_the_same_name(bucket, tmp_path):
    target = tmp_path / "dags"
    bucket.put("dags/x/a.py", b"a")
    sync_prefix(bucket, "dags", target)
    bucket.delete("dags/x/a.py")
    bucket.put("dags/x", b"now a file")
    result = sync_prefix(bucket, "dags", target)
    assert result.added == ("x",) and result.removed == ("x/a.py",)
    assert (target / "x").read_bytes() == b"now a file"


def test_a_missing_bucket_raises_and_leaves_the_mirror_alone(bucket, tmp_path):
    target = tmp_path / "dags"
    bucket.put("dags/a.py", b"a")
    sync_prefix(bucket, "dags", target)
    with pytest.raises(errors.NotFound, match="Bucket gone does not exist"):
        sync_prefix(LocalBucket(tmp_path / "buckets", "gone"), "dags", target)
    assert files(target) == ["a.py"]


def test_an_empty_prefix_empties_the_mirror(bucket, tmp_path):
    target = tmp_path / "dags"
    bucket.put("dags/a.py", b"a")
    sync_prefix(bucket, "dags", target)
    bucket.delete("dags/a.py")
    assert sync_prefix(bucket, "dags", target).removed == ("a.py",)
    assert target.is_dir() and files(target) == []


def test_an_object_deleted_while_syncing_is_reported_and_the_rest_synced(bucket, tmp_path):
    class Racing(Counting):
        def get(self, key, *, version_id=None):
            if key == "dags/a.py":
                raise errors.NotFound("s3://b/dags/a.py does not exist.")
            return super().get(key, version_id=version_id)

    bucket.put("dags/a.py", b"a")
    bucket.put("dags/b.py", b"b")
    result = sync_prefix(Racing(bucket), "dags", tmp_path / "dags")
    assert result.added == ("b.py",) and result.errors == ("dags/a.py: s3://b/dags/a.py does not exist.",)


def test_work_done_before_a_bucket_failure_is_kept(bucket, tmp_path):
    class Failing(Counting):
        def get(self, key, *, version_id=None):
            if key == "dags/b.py":
                raise errors.Temporary("endpoint down")
            return super().get(key, version_id=version_id)

    target = tmp_path / "dags"
    bucket.put("dags/a.py", b"a")
    bucket.put("dags/b.py", b"b")
    with pytest.raises(errors.Temporary):
        sync_prefix(Failing(bucket), "dags", target)
    again = Counting(bucket)
    assert sync_prefix(again, "dags", target).added == ("b.py",)
    assert again.gets == ["dags/b.py"]


def test_concurrent_syncs_of_one_folder_take_turns(bucket, tmp_path):
    import threading

    target = tmp_path / "dags"
    for i in range(30):
        bucket.put(f"dags/f{i}.py", str(i).encode())
    results, failures = [], []

    def run():
        try:
            results.append(sync_prefix(LocalBucket(tmp_path / "buckets", "b"), "dags", target))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and all(result.errors == () for result in results)
    assert sum(len(result.added) for result in results) == 30 and len(files(target)) == 30
