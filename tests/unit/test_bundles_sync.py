import time

from aerodrome.bundles.local import LocalBucket
from aerodrome.bundles.sync import DagSyncLoop, sync_prefix


def bucket(tmp_path):
    (tmp_path / "buckets" / "b").mkdir(parents=True)
    return LocalBucket(tmp_path / "buckets", "b")


def test_mirror_adds_changes_and_removes(tmp_path):
    b = bucket(tmp_path)
    target = tmp_path / "env" / "dags"
    b.put("dags/a.py", b"a = 1\n")
    b.put("dags/sub/b.py", b"b = 1\n")
    b.put("other/c.py", b"not a dag\n")
    first = sync_prefix(b, "dags", target)
    assert sorted(first.added) == ["a.py", "sub/b.py"]
    assert (target / "sub" / "b.py").read_text() == "b = 1\n" and not (target / "c.py").exists()

    b.put("dags/a.py", b"a = 2\n")
    (b.root / "dags" / "sub" / "b.py").unlink()
    second = sync_prefix(b, "dags/", target)
    assert second.changed == ("a.py",) and second.removed == ("sub/b.py",)
    assert (target / "a.py").read_text() == "a = 2\n"
    assert not (target / "sub").exists()


def test_unchanged_files_are_not_rewritten_after_a_restart(tmp_path):
    b = bucket(tmp_path)
    target = tmp_path / "dags"
    b.put("dags/a.py", b"x")
    sync_prefix(b, "dags", target)
    assert sync_prefix(b, "dags", target).changes == 0


def test_files_not_in_the_bucket_and_symlinks_are_removed(tmp_path):
    b = bucket(tmp_path)
    target = tmp_path / "dags"
    target.mkdir()
    (target / "stray.py").write_text("x")
    (target / "link.py").symlink_to("/etc/passwd")
    sync_prefix(b, "dags", target)
    assert list(target.iterdir()) == []


def test_keys_outside_the_target_are_refused(tmp_path):
    class Evil:
        def list(self, prefix):
            from aerodrome.bundles.base import ObjectInfo
            return [ObjectInfo(key="dags/../../escape.py", etag="1", size=1)]

        def get(self, key, version_id=None):
            raise AssertionError("must not download")

    result = sync_prefix(Evil(), "dags", tmp_path / "dags")
    assert result.skipped == ("dags/../../escape.py",)
    assert not (tmp_path / "escape.py").exists()


def test_loop_picks_up_changes_and_keeps_dags_when_the_bucket_vanishes(tmp_path):
    b = bucket(tmp_path)
    target = tmp_path / "dags"
    b.put("dags/a.py", b"1")
    loop = DagSyncLoop(lambda: b, "dags", target, interval=0.05)
    loop.start()
    try:
        b.put("dags/new.py", b"2")
        deadline = time.monotonic() + 10
        while not (target / "new.py").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (target / "new.py").read_text() == "2"
        import shutil
        shutil.rmtree(b.root)  # a vanished bucket is an error, not an empty bucket
        deadline = time.monotonic() + 10
        while loop.state.last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "does not exist" in loop.state.last_error
        assert (target / "a.py").exists() and (target / "new.py").exists()
        b.root.mkdir()  # an empty bucket mirrors to an empty folder
        deadline = time.monotonic() + 10
        while (target / "a.py").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (target / "a.py").exists()
    finally:
        loop.stop()
