import shutil

import pytest

from aerodrome import errors
from aerodrome.bundles.local import LocalBucket
from aerodrome.bundles.sync import DagSyncLoop
from tests.support import wait_for


def wait_until(condition, *, timeout=30.0, what="the condition"):
    wait_for(condition, timeout=timeout, interval=0.05, what=what)


@pytest.fixture
def bucket(tmp_path):
    (tmp_path / "buckets" / "b").mkdir(parents=True)
    return LocalBucket(tmp_path / "buckets", "b")


@pytest.fixture
def loops():
    started = []

    def make(*args, **kwargs):
        loop = DagSyncLoop(*args, **kwargs)
        started.append(loop)
        loop.start()
        return loop

    yield make
    for loop in started:
        loop.stop()
        assert not loop.running


def test_changes_reach_the_folder_and_listeners(bucket, tmp_path, loops):
    target = tmp_path / "dags"
    bucket.put("dags/a.py", b"1")
    seen = []
    loop = loops(lambda: bucket, "dags", target, interval=0.05, on_change=seen.append)
    wait_until(lambda: (target / "a.py").exists(), what="the first sync")
    bucket.put("dags/a.py", b"2")
    bucket.put("dags/new.py", b"3")
    wait_until(lambda: (target / "new.py").exists() and (target / "a.py").read_text() == "2", what="the change")
    reported = lambda: {path for result in seen for path in result.added + result.changed}  # noqa: E731
    # listeners hear of a sync once its files are in place: wait for them too
    wait_until(lambda: reported() >= {"a.py", "new.py"}, what="the listeners")
    assert loop.last_error is None and loop.last_synced_at is not None
    assert reported() == {"a.py", "new.py"}


def test_trigger_syncs_without_waiting_for_the_interval(bucket, tmp_path, loops):
    target = tmp_path / "dags"
    loop = loops(lambda: bucket, "dags", target, interval=3600)
    wait_until(lambda: loop.last_synced_at is not None, what="the first sync")
    bucket.put("dags/a.py", b"1")
    loop.trigger()
    wait_until(lambda: (target / "a.py").exists(), what="the triggered sync")


def test_a_vanished_bucket_keeps_the_dags_and_the_loop_recovers(bucket, tmp_path, loops):
    target = tmp_path / "dags"
    bucket.put("dags/a.py", b"1")
    results = []  # every sync that changed the folder
    loop = loops(lambda: bucket, "dags", target, interval=0.05, on_change=results.append)
    wait_until(lambda: (target / "a.py").exists(), what="the first sync")
    bucket.root.rename(tmp_path / "gone")  # at once (a sync may list it mid-removal otherwise)
    shutil.rmtree(tmp_path / "gone")  # a vanished bucket is an error, not an empty bucket
    wait_until(lambda: loop.last_error is not None, what="the error")
    assert "Bucket b does not exist" in loop.last_error
    assert (target / "a.py").read_text() == "1"
    bucket.root.mkdir()  # back, and empty: now the mirror empties
    loop.trigger()
    wait_until(lambda: len(results) == 2, what="the recovery")  # listeners hear once files are in place
    assert not (target / "a.py").exists() and loop.last_error is None
    assert [result.removed for result in results] == [(), ("a.py",)]  # added, then removed: nothing else


def test_a_failing_factory_and_a_failing_listener_do_not_stop_the_loop(bucket, tmp_path, loops):
    target = tmp_path / "dags"
    attempts = []

    def factory():
        attempts.append(1)
        if len(attempts) == 1:
            raise errors.Temporary("endpoint unreachable", delay=0.0)
        return bucket

    def listener(result):
        raise RuntimeError("listener bug")

    bucket.put("dags/a.py", b"1")
    loop = loops(factory, "dags", target, interval=0.05, on_change=listener)
    wait_until(lambda: (target / "a.py").exists(), what="a sync after the factory failed")
    bucket.put("dags/b.py", b"2")
    wait_until(lambda: (target / "b.py").exists(), what="a sync after the listener failed")
    assert loop.running and loop.last_error is None


def test_an_unexpected_error_is_recorded_and_retried(tmp_path, loops):
    class Broken:
        name = "broken"

        def list(self, prefix):
            raise ValueError("bug in an adapter")

    loop = loops(Broken, "dags", tmp_path / "dags", interval=0.05)
    wait_until(lambda: loop.last_error is not None, what="the error")
    assert loop.last_error == "ValueError: bug in an adapter" and loop.running


def test_stop_ends_the_thread_promptly_even_with_a_long_interval(bucket, tmp_path):
    loop = DagSyncLoop(lambda: bucket, "dags", tmp_path / "dags", interval=3600)
    loop.start()
    wait_until(lambda: loop.last_synced_at is not None, what="the first sync")
    loop.stop()
    assert not loop.running


def test_error_listeners_hear_of_each_failed_sync(tmp_path, loops):
    class Refusing:
        name = "b"

        def list(self, prefix):
            raise errors.AccessDenied("revoked")

    heard = []
    loop = loops(lambda: Refusing(), "dags", tmp_path / "dags", interval=0.05, on_error=heard.append)
    wait_until(lambda: len(heard) >= 2, what="two failed syncs")
    assert all(isinstance(exc, errors.AccessDenied) for exc in heard) and loop.last_error == "revoked"
