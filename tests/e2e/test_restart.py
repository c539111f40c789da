"""kill -9 of the control plane: the next `aerodrome up` finishes what was in flight and re-attaches to
running environments; SIGTERM stops everything it started."""

import json
import signal

import psutil
import pytest

from tests.support import NETWORK, ROLE, free_port, mwaa_of_home, processes_mentioning, start_up, wait_for

pytestmark = pytest.mark.e2e


def component_pids(home):
    found = {}
    for pid_file in home.glob("environments/*/run/*.pid"):
        found[pid_file.stem] = json.loads(pid_file.read_text())["pid"]
    return found


def test_kill_9_resumes_and_reattaches(tmp_path, postgres_url):
    home, port, s3_port = tmp_path / "h", free_port(), free_port()  # short: the broker socket lies below
    home.mkdir()
    (home / "buckets" / "b" / "dags").mkdir(parents=True)

    def start():
        return start_up(home, port, s3_port, postgres_url)

    plane = start()
    mwaa = mwaa_of_home(home, port)
    mwaa.create_environment(Name="r", ExecutionRoleArn=ROLE, SourceBucketArn="arn:aws:s3:::b", DagS3Path="dags",
                            NetworkConfiguration=NETWORK)
    try:
        plane.send_signal(signal.SIGKILL)  # mid-create
        plane.wait()
        plane = start()
        wait_for(lambda: mwaa.get_environment(Name="r")["Environment"]["Status"] != "CREATING", timeout=600,
                 interval=1, what="the create to finish after the restart")
        assert mwaa.get_environment(Name="r")["Environment"]["Status"] == "AVAILABLE"
        before = component_pids(home)
        assert {"api-server", "scheduler-1", "worker-1", "dag-processor"} <= set(before)  # the triggerer on demand

        plane.send_signal(signal.SIGKILL)  # while AVAILABLE: the environment keeps running
        plane.wait()
        assert all(psutil.pid_exists(pid) for pid in before.values())
        plane = start()
        assert mwaa.get_environment(Name="r")["Environment"]["Status"] == "AVAILABLE"
        wait_for(lambda: component_pids(home) == before, timeout=30, what="re-attached components")
    finally:
        plane.send_signal(signal.SIGTERM)
        plane.wait(120)
    left = processes_mentioning(str(home))
    assert left == [], [p.info["cmdline"][:3] for p in left]
