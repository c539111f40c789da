"""The fork server with real processes (a Python without Airflow, so nothing is preloaded): the
supervisor starts a component through it, which runs in a session of its own with the environment,
folder and log it was given, is restarted through it when it dies, and outlives a stopped fork
server; without a fork server the component starts on its own."""

import dataclasses
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import forks, forkserver
from aerodrome.runtimes.local.supervisor import ProcessSpec
from tests.support import wait_for

PROBE = """
import os, sys, time
print("probe", sys.argv[1:], os.environ.get("PROBE_VALUE"), os.getsid(0) == os.getpid(), os.getcwd(), flush=True)
time.sleep(float(sys.argv[1]))
"""


def server_spec(tmp_path: Path) -> ProcessSpec:
    return ProcessSpec(name="env/forkserver", argv=[sys.executable, forkserver.__file__, "--socket",
                                                    str(tmp_path / "run" / "fs.sock")],
                       env={"PATH": os.environ["PATH"]}, log_file=tmp_path / "forkserver.log",
                       pid_file=tmp_path / "run" / "forkserver.pid", fingerprint="f", group_only=True)


def component_spec(tmp_path: Path, seconds: str, *, socket: Path | None) -> ProcessSpec:
    (tmp_path / "probe.py").write_text(PROBE)
    return ProcessSpec(name="env/scheduler", argv=[sys.executable, "-m", "probe", seconds],
                       env={"PATH": os.environ["PATH"], "PROBE_VALUE": "from-the-request"},
                       log_file=tmp_path / "scheduler.log", pid_file=tmp_path / "run" / "scheduler.pid",
                       cwd=tmp_path, fingerprint="c", forkserver=socket)


def test_entry_takes_airflow_and_python_m_commands_only():
    assert forkserver.entry(["/v/bin/airflow", "scheduler"]) == ("airflow", ["/v/bin/airflow", "scheduler"])
    assert forkserver.entry(["/v/bin/python", "-m", "gunicorn", "--preload", "x"]) == \
        ("gunicorn", ["gunicorn", "--preload", "x"])
    with pytest.raises(ValueError, match="not a command the fork server runs: bash"):
        forkserver.entry(["/bin/bash", "-c", "true"])


def test_a_component_is_forked_restarted_and_outlives_its_server(tmp_path, supervisor):
    socket = tmp_path / "run" / "fs.sock"
    supervisor.ensure(server_spec(tmp_path))
    assert forks.await_ready(socket, timeout=20)
    server_pid = supervisor.state("env/forkserver")[1]

    supervisor.ensure(component_spec(tmp_path, "1", socket=socket))
    _, first, _ = supervisor.state("env/scheduler")
    assert psutil.Process(first).ppid() == server_pid  # forked, not started by us
    log = tmp_path / "scheduler.log"
    wait_for(lambda: "probe" in log.read_text(), timeout=10)
    assert f"probe ['1'] from-the-request True {tmp_path}" in log.read_text()

    # it exits after a second; the monitor starts it again, through the fork server
    wait_for(lambda: supervisor.state("env/scheduler")[1] not in (None, first), timeout=15)
    _, second, restarts = supervisor.state("env/scheduler")
    assert restarts >= 1 and psutil.Process(second).ppid() == server_pid

    # a stopped fork server leaves its children running
    supervisor.ensure(dataclasses.replace(component_spec(tmp_path, "30", socket=socket), fingerprint="d"))
    _, lasting, _ = supervisor.state("env/scheduler")
    supervisor.stop("env/forkserver", grace=2)
    time.sleep(0.5)
    assert psutil.Process(lasting).is_running()
    assert supervisor.state("env/scheduler")[:2] == (True, lasting)
    supervisor.stop("env/scheduler", grace=2)
    assert not psutil.pid_exists(lasting) or psutil.Process(lasting).status() == psutil.STATUS_ZOMBIE


def test_without_a_fork_server_the_component_starts_on_its_own(tmp_path, supervisor):
    supervisor.ensure(component_spec(tmp_path, "30", socket=tmp_path / "run" / "absent.sock"))
    running, pid, _ = supervisor.state("env/scheduler")
    assert running and psutil.Process(pid).ppid() == os.getpid()
    wait_for(lambda: "from-the-request" in (tmp_path / "scheduler.log").read_text(), timeout=10)


def test_a_refused_request_says_why(tmp_path, supervisor):
    socket = tmp_path / "run" / "fs.sock"
    supervisor.ensure(server_spec(tmp_path))
    assert forks.await_ready(socket, timeout=20)
    with open(tmp_path / "x.log", "ab") as out, pytest.raises(forks.Refused, match="not a command"):
        forks.spawn(socket, argv=["/bin/sh", "-c", "true"], env={}, cwd=tmp_path, log=out.fileno())


def test_a_forked_leaders_strays_are_killed_when_it_dies(tmp_path, supervisor):
    """A forked component that dies leaving children in its group (a worker's pool) takes them with it."""
    socket = tmp_path / "run" / "fs.sock"
    supervisor.ensure(server_spec(tmp_path))
    assert forks.await_ready(socket, timeout=20)
    (tmp_path / "leader.py").write_text(
        "import subprocess, time\nsubprocess.Popen(['sleep', '60'])\nprint('child up', flush=True)\ntime.sleep(60)\n")
    spec = ProcessSpec(name="env/worker-1", argv=[sys.executable, "-m", "leader"], env={"PATH": os.environ["PATH"]},
                       log_file=tmp_path / "w.log", pid_file=tmp_path / "run" / "w.pid", cwd=tmp_path,
                       fingerprint="w", forkserver=socket)
    supervisor.ensure(spec)
    _, leader, _ = supervisor.state("env/worker-1")
    wait_for(lambda: psutil.Process(leader).children(), timeout=10)
    stray = psutil.Process(leader).children()[0]
    os.kill(leader, signal.SIGKILL)
    wait_for(lambda: not stray.is_running() or stray.status() == psutil.STATUS_ZOMBIE, timeout=10)


@pytest.mark.parametrize(("options", "script", "root", "version", "used"), [
    ({}, False, "short", "3.3.2", True),
    ({}, True, "short", "3.3.2", False),  # a startup script's exports must reach each component's start
    ({forks.OPTION: "False"}, False, "short", "3.3.2", False),
    ({forks.OPTION: "true"}, False, "short", "3.3.2", True),
    ({}, False, "x" * 100, "3.3.2", False),  # a socket path longer than a Unix socket's limit
    ({}, False, "short", "2.11.2", False),
])
def test_which_environments_use_a_fork_server(tmp_path, options, script, root, version, used):
    spec = EnvironmentSpec(name="x", execution_role_arn="r", source_bucket_arn="b", dag_s3_path="d",
                           airflow_version=version, airflow_configuration_options=options)
    placement = Placement(env_id="e1", root=tmp_path / root, web_port=1, broker_db=1)
    assert forks.wanted(spec, placement, startup_script=script) is used


def test_the_fork_server_preloads_airflow(tmp_path):
    placement = Placement(env_id="e1", root=tmp_path, web_port=1, broker_db=1)
    three = forks.argv(placement, python=Path("/v/bin/python"))
    assert "airflow.api_fastapi.app" in three[-1].split(",")
    assert Path(three[1]).read_bytes() == Path(forkserver.__file__).read_bytes()  # a copy its user can read
    assert three[2:4] == ["--socket", str(tmp_path / "run" / "fork" / "server.sock")]
