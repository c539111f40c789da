"""The triggerer on demand, with a real supervisor and process: it starts once a trigger waits,
stays while triggers come and for the linger after the last, then stops; a stopped environment's
is never started again; frozen environments are left alone; the option keeps it always on."""

import os
import threading
from pathlib import Path

import pytest

from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import freezing, triggerers
from aerodrome.runtimes.local.supervisor import ProcessSpec


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_runs_while_triggers_wait_and_for_the_linger_after(tmp_path: Path, supervisor):
    placement = Placement(env_id="e1", root=tmp_path, web_port=1, broker_db=1)
    waiting = {"e1": False}
    clock, lock = Clock(), threading.Lock()
    tended = triggerers.OnDemandTriggerers(supervisor, has_triggers=lambda p: waiting[p.env_id],
                                           lock_of=lambda env_id: lock, linger=300, clock=clock)
    process = ProcessSpec(name="e1/triggerer", argv=["sleep", "60"], env={"PATH": os.environ["PATH"]},
                          log_file=tmp_path / "t.log", pid_file=tmp_path / "run" / "t.pid", fingerprint="a")

    def running() -> bool:
        return supervisor.state("e1/triggerer")[0]

    assert tended.offer(placement, process) is False  # nothing waits: not started by a converge
    tended.tick()
    assert not running()
    waiting["e1"] = True
    tended.tick()
    assert running()
    waiting["e1"] = False
    clock.now += 299
    tended.tick()
    assert running()  # lingers
    clock.now += 1
    tended.tick()
    assert not running()

    # a converge with another configuration replaces a running one at once
    waiting["e1"] = True
    tended.tick()
    _, pid, _ = supervisor.state("e1/triggerer")
    assert tended.offer(placement, ProcessSpec(**{**process.__dict__, "fingerprint": "b"})) is True
    assert supervisor.state("e1/triggerer")[1] != pid

    # while the environment is being converged, or frozen, it is left alone
    supervisor.stop("e1/triggerer")
    with lock:
        tended.tick()
    assert not running()
    supervisor.ensure(ProcessSpec(name="e1/scheduler-1", argv=["sleep", "60"], env={"PATH": os.environ["PATH"]},
                                  log_file=tmp_path / "s.log", pid_file=tmp_path / "run" / "s.pid"))
    freezing.freeze(placement, [supervisor.state("e1/scheduler-1")[1]])
    tended.tick()
    assert not running()
    freezing.thaw(placement)

    # once the environment stops, it never starts again
    tended.forget("e1")
    tended.tick()
    assert not running()


@pytest.mark.parametrize(("value", "on"), [(None, True), ("False", False), ("off", False), ("True", True)])
def test_the_option_keeps_it_always_running(value, on):
    options = {} if value is None else {triggerers.OPTION: value}
    spec = EnvironmentSpec(name="x", execution_role_arn="r", source_bucket_arn="b", dag_s3_path="d",
                           airflow_configuration_options=options)
    assert triggerers.on_demand(spec) is on
