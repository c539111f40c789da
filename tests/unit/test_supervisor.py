"""When the supervisor judges a process dead, with real processes: a live child of ours is never
judged dead, whatever psutil says; one that exited takes what it left in its process group with
it; an adopted process is recognised across a step of the wall clock, and its group is left alone."""

import json
import os
import signal
import subprocess
import time

import psutil

from aerodrome.runtimes.local import processes
from aerodrome.runtimes.local.supervisor import ProcessSpec
from tests.support import wait_for


def spec(tmp_path, script: str, *, name: str = "env/worker-1") -> ProcessSpec:
    return ProcessSpec(name=name, argv=["sh", "-c", script], env={"PATH": os.environ["PATH"]},
                       log_file=tmp_path / "p.log", pid_file=tmp_path / "run" / "p.pid", fingerprint="a")


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_live_child_is_not_judged_dead_when_psutil_says_so(tmp_path, supervisor, monkeypatch):
    """psutil's view of a process can be wrong (a pid judged reused, a status it may not read); the
    Popen of our own child is the truth, so nothing is restarted next to the live process."""
    supervisor.ensure(spec(tmp_path, "exec sleep 30"))
    _, pid, _ = supervisor.state("env/worker-1")
    monkeypatch.setattr(psutil.Process, "is_running", lambda self: False)
    monkeypatch.setattr(psutil.Process, "status", lambda self: psutil.STATUS_ZOMBIE)
    time.sleep(1.0)  # ten looks of the monitor
    assert supervisor.state("env/worker-1") == (True, pid, 0)
    assert supervisor.recent_exits("env/worker-1") == []


def test_an_adopted_process_psutil_may_not_read_is_alive(monkeypatch):
    child = subprocess.Popen(["sleep", "30"])
    try:
        process = psutil.Process(child.pid)

        def denied(self):
            raise psutil.AccessDenied(self.pid)

        monkeypatch.setattr(psutil.Process, "status", denied)
        assert processes.alive(process)
    finally:
        child.kill()
        child.wait()


def test_a_child_that_exited_takes_what_it_left_in_its_group(tmp_path, supervisor):
    supervisor.ensure(spec(tmp_path, f"sleep 30 & echo $! >> {tmp_path / 'left'}; exit 0"))
    first = supervisor._procs["env/worker-1"].popen
    wait_for(lambda: (tmp_path / "left").exists(), timeout=20, what="the leader's child")
    orphan = int((tmp_path / "left").read_text().split()[0])
    wait_for(lambda: gone(orphan), timeout=20, what="the orphaned child to be killed")
    assert first.returncode == 0  # the leader's status was collected
    assert supervisor.recent_exits("env/worker-1")[:1] == [0]
    wait_for(lambda: supervisor.state("env/worker-1")[2] >= 1, timeout=20, what="the restart")


def test_an_adopted_process_is_recognised_after_a_step_of_the_wall_clock(tmp_path, supervisor):
    """The pid file's create_time moves with the clock (boot time + start); its start since boot does not."""
    earlier = subprocess.Popen(["sleep", "30"], start_new_session=True)  # an earlier control plane's
    try:
        mark = processes.start_mark(psutil.Process(earlier.pid))
        record = {"pid": earlier.pid, **mark, "create_time": mark["create_time"] + 1.0, "fingerprint": "a"}
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "p.pid").write_text(json.dumps(record))
        assert supervisor.ensure(spec(tmp_path, "exec sleep 30")) is False
        assert supervisor.state("env/worker-1")[1] == earlier.pid
    finally:
        supervisor.stop("env/worker-1", grace=2)
        earlier.wait(5)


def test_the_group_of_an_adopted_process_is_left_alone_when_it_dies(tmp_path, supervisor):
    """Found from a pid file, it has no Popen: by the time its death is seen its pid (and so its
    group's id) may belong to someone else, so only the restart follows."""
    earlier = subprocess.Popen(["sh", "-c", f"sleep 30 & echo $! > {tmp_path / 'left'}; exec sleep 30"],
                               start_new_session=True)
    wait_for(lambda: (tmp_path / "left").exists() and (tmp_path / "left").read_text().strip(), timeout=20,
             what="the adopted leader's child")
    orphan = psutil.Process(int((tmp_path / "left").read_text()))
    try:
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "p.pid").write_text(json.dumps(
            {"pid": earlier.pid, **processes.start_mark(psutil.Process(earlier.pid)), "fingerprint": "a"}))
        assert supervisor.attach(spec(tmp_path, "exec sleep 30")) is True
        earlier.kill()
        earlier.wait()
        wait_for(lambda: supervisor.state("env/worker-1")[2] == 1, timeout=20, what="the restart")
        assert orphan.is_running() and orphan.status() != psutil.STATUS_ZOMBIE
    finally:
        orphan.send_signal(signal.SIGKILL)
