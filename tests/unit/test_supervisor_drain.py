"""Drain semantics of the supervisor with real processes: a worker-like parent that, on SIGTERM,
waits for its "task" child (same process group) and then exits."""

import sys
import time

import psutil
import pytest

from aerodrome.runtimes.local.draining import Drains
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor, _kill_group
from tests.support import wait_for

WORKER = r'''
import pathlib, signal, subprocess, sys, time
out = pathlib.Path(sys.argv[1])
task = subprocess.Popen([sys.executable, "-c",
    "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(9)); "
    "time.sleep(float(sys.argv[1])); pathlib.Path(sys.argv[2]).write_text('finished')", sys.argv[2], str(out / "task")])
draining = []
signal.signal(signal.SIGTERM, lambda *a: draining.append(1))
(out / "ready").write_text("1")
while task.poll() is None:
    time.sleep(0.05)
(out / "exit").write_text(f"task={task.returncode} draining={bool(draining)}")
while not draining:
    time.sleep(0.05)
'''


def spec(tmp_path, seconds: float) -> ProcessSpec:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    return ProcessSpec(name="env/worker-1", argv=[sys.executable, str(script), str(tmp_path), str(seconds)],
                       env={}, log_file=tmp_path / "worker.log", pid_file=tmp_path / "run" / "worker-1.pid",
                       fingerprint="a")


@pytest.fixture
def supervisor():
    running = Supervisor(poll_interval=0.2)
    yield running
    running.close(grace=2)


def test_drain_signals_the_main_process_only_and_lets_the_task_finish(tmp_path, supervisor):
    supervisor.ensure(spec(tmp_path, 2.0))
    wait_for(lambda: (tmp_path / "ready").exists(), timeout=20, what="the worker")
    _, pid, _ = supervisor.state("env/worker-1")
    supervisor.drain("env/worker-1", pid_file=tmp_path / "run" / "worker-1.pid", into=tmp_path / "draining",
                     limit=60)
    assert supervisor.names() == [] and supervisor.drains.names() == ["env/worker-1"]
    assert [p.name for p in (tmp_path / "draining").iterdir()] == [f"worker-1-{pid}.pid"]
    wait_for(lambda: supervisor.drains.names() == [], timeout=30, what="the drain to end")
    assert (tmp_path / "task").read_text() == "finished"  # the task was not signalled
    assert (tmp_path / "exit").read_text() == "task=0 draining=True"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert list((tmp_path / "draining").iterdir()) == []
    time.sleep(0.5)
    assert supervisor.state("env/worker-1") == (False, None, 0)  # not restarted


def test_a_drain_past_its_limit_is_stopped_hard(tmp_path, supervisor, caplog):
    supervisor.ensure(spec(tmp_path, 60.0))
    wait_for(lambda: (tmp_path / "ready").exists(), timeout=20, what="the worker")
    supervisor.drain("env/worker-1", pid_file=tmp_path / "run" / "worker-1.pid", into=tmp_path / "draining",
                     limit=1)
    wait_for(lambda: supervisor.drains.names() == [], timeout=30, what="the hard stop")
    assert not (tmp_path / "task").exists()
    assert "did not finish draining in time; stopping it hard" in caplog.text


def test_a_new_control_plane_adopts_a_drain_and_keeps_waiting(tmp_path, supervisor):
    supervisor.ensure(spec(tmp_path, 3.0))
    wait_for(lambda: (tmp_path / "ready").exists(), timeout=20, what="the worker")
    supervisor.drain("env/worker-1", pid_file=tmp_path / "run" / "worker-1.pid", into=tmp_path / "draining",
                     limit=60)
    supervisor.drains._drains.clear()  # the old control plane is gone; its record stays
    later = Drains(kill_group=_kill_group)
    assert later.adopt(tmp_path / "draining") == ["env/worker-1"]
    assert later.adopt(tmp_path / "draining") == []  # once
    wait_for(lambda: later.names() == [], timeout=30, what="the adopted drain to end")
    assert (tmp_path / "task").read_text() == "finished"


def test_draining_a_process_that_already_exited_collects_its_status(tmp_path):
    """A worker whose start failed (a startup script that timed out, say) is gone when it is drained:
    its exit status is collected then, not left for the garbage collector to warn about."""
    supervisor = Supervisor(poll_interval=60)  # no restart in the meantime
    try:
        supervisor.ensure(ProcessSpec(name="e/worker-1", argv=[sys.executable, "-c", "pass"], env={},
                                      log_file=tmp_path / "w.log", pid_file=tmp_path / "w.pid"))
        popen = supervisor._procs["e/worker-1"].popen
        wait_for(lambda: psutil.Process(popen.pid).status() == psutil.STATUS_ZOMBIE, timeout=20, interval=0.05,
                 what="the process to exit")
        supervisor.drain("e/worker-1", pid_file=tmp_path / "w.pid", into=tmp_path / "draining", limit=5)
        assert popen.returncode == 0
    finally:
        supervisor.close()
