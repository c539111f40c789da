"""Idle sleep's freeze with real processes: a frozen process group (leader and child) uses no CPU
and is not judged dead; a thaw lets it go on, also from a later control plane (the marker); a stop
lets a frozen group handle its stop signal, not SIGKILL it after the grace."""

import os
import time
from pathlib import Path

import psutil

from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local import freezing
from aerodrome.runtimes.local.supervisor import ProcessSpec
from tests.support import wait_for

BUSY = "sh -c 'while :; do :; done' & while :; do :; done"  # a busy leader with a busy child


def group_cpu(pid: int) -> float:
    leader = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [leader, *leader.children(recursive=True)])


def test_a_frozen_group_uses_no_cpu_and_goes_on_when_thawed(tmp_path: Path, supervisor):
    placement = Placement(env_id="e1", root=tmp_path, web_port=1, broker_db=1)
    supervisor.ensure(ProcessSpec(name="e1/scheduler", argv=["sh", "-c", BUSY], env={"PATH": os.environ["PATH"]},
                                  log_file=tmp_path / "s.log", pid_file=tmp_path / "run" / "s.pid"))
    _, pid, _ = supervisor.state("e1/scheduler")
    assert pid is not None
    wait_for(lambda: len(psutil.Process(pid).children()) == 1, timeout=10, what="the child")
    freezing.freeze(placement, [pid])
    assert freezing.since(placement) is not None
    wait_for(lambda: {p.status() for p in [psutil.Process(pid), *psutil.Process(pid).children()]}
             == {psutil.STATUS_STOPPED}, timeout=5, what="the group to stop")  # SIGSTOP lands in a moment
    frozen_at = group_cpu(pid)
    time.sleep(0.5)  # five looks of the supervisor's monitor
    assert group_cpu(pid) == frozen_at
    assert supervisor.state("e1/scheduler") == (True, pid, 0)  # frozen is not dead: no restart

    freezing.thaw(placement)  # as a later control plane would: from the marker alone
    assert freezing.since(placement) is None
    wait_for(lambda: group_cpu(pid) > frozen_at + 0.05, timeout=10, what="CPU after the thaw")


def test_a_stop_lets_a_frozen_group_handle_its_signal(tmp_path: Path, supervisor):
    placement = Placement(env_id="e1", root=tmp_path, web_port=1, broker_db=1)
    handled = tmp_path / "handled"
    supervisor.ensure(ProcessSpec(name="e1/triggerer",
                                  argv=["sh", "-c", f"trap 'touch {handled}; exit 0' TERM; sleep 60 & wait"],
                                  env={"PATH": os.environ["PATH"]}, log_file=tmp_path / "t.log",
                                  pid_file=tmp_path / "run" / "t.pid"))
    _, pid, _ = supervisor.state("e1/triggerer")
    assert pid is not None
    freezing.freeze(placement, [pid])
    supervisor.stop("e1/triggerer", grace=20)
    assert handled.exists()  # it handled SIGTERM once let go on, not SIGKILL after the grace
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert freezing.since(placement) is None  # a marker whose processes are gone freezes nothing
