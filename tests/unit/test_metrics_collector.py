"""AWS/MWAA CPUUtilization per cluster: reported only when every process of the cluster has a
baseline, so a cluster first seen is not reported as idle."""

import os
import signal
import subprocess
import time

from aerodrome.reconcile.metrics_collector import Sample, cpu_used, samples
from aerodrome.runtimes.base import ComponentState
from tests.support import wait_for

LAST_LOOK = 1000.0


def sample(pid: int, started: float, cpu: float) -> Sample:
    return Sample((pid, started), cpu, rss=1.0)


def test_the_collectors_first_look_reports_no_cpu():
    assert cpu_used([sample(10, 900.0, 5.0)], {}, since=None) is None


def test_processes_seen_at_the_last_look_report_what_they_used_since():
    before = {(10, 900.0): 5.0, (11, 950.0): 1.0}
    assert cpu_used([sample(10, 900.0, 8.0), sample(11, 950.0, 1.5)], before, since=LAST_LOOK) == 3.5


def test_a_cluster_with_a_process_that_ran_unseen_at_the_last_look_reports_no_cpu():
    """An environment that just became available: its processes ran before, but were not looked at."""
    before = {(10, 900.0): 5.0}
    assert cpu_used([sample(10, 900.0, 8.0), sample(12, 990.0, 30.0)], before, since=LAST_LOOK) is None
    assert cpu_used([sample(12, 990.0, 30.0)], {}, since=LAST_LOOK) is None


def test_a_process_started_after_the_last_look_counts_all_its_cpu():
    """A worker's new task process used all its CPU time within the interval."""
    before = {(10, 900.0): 5.0}
    assert cpu_used([sample(10, 900.0, 6.0), sample(13, 1010.0, 2.0)], before, since=LAST_LOOK) == 3.0


def test_a_reused_pid_is_another_process():
    before = {(10, 900.0): 50.0}
    assert cpu_used([sample(10, 960.0, 2.0)], before, since=LAST_LOOK) is None  # not 0 (2 - 50, clamped)
    assert cpu_used([sample(10, 1020.0, 2.0)], before, since=LAST_LOOK) == 2.0


def test_samples_cover_a_real_process_and_its_children_and_give_a_baseline():
    leader = subprocess.Popen(["sh", "-c", "sleep 30 & exec sh -c 'while :; do :; done'"], start_new_session=True)
    try:
        component = ComponentState("scheduler", running=True, pid=leader.pid)
        wait_for(lambda: len(samples(component)) == 2, timeout=10, what="the child")
        first, since = samples(component), time.time()
        baseline = {s.key: s.cpu for s in first}
        # the busy loop's CPU shows up (on a loaded host it gets a share of a core, not all of one)
        wait_for(lambda: (cpu_used(samples(component), baseline, since=since) or 0.0) > 0.1, timeout=20,
                 what="the busy loop's CPU")
        later = samples(component)
        assert {s.key for s in later} == {s.key for s in first}
        assert all(s.key[1] <= since for s in later) and all(s.rss > 0 for s in later)
        assert cpu_used(later, {}, since=since) is None  # without a baseline: no figure, not 0
    finally:
        os.killpg(leader.pid, signal.SIGKILL)  # the loop and its sleep
        leader.wait()
