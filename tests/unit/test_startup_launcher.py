"""The startup-script launcher, with real bash: exports reach the component, reserved variables keep
their value, a failing or hanging script stops the component from starting."""

import json
import subprocess
import sys
import time

from aerodrome.runtimes.local import launcher

SHOW = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


def launch(tmp_path, script: str, *, timeout=10.0, env=None, keep=("AIRFLOW__CORE__EXECUTOR",)):
    path = tmp_path / "startup.sh"
    path.write_text(script)
    base = {"PATH": "/usr/bin:/bin", "MWAA_AIRFLOW_COMPONENT": "worker", "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            launcher.KEEP_VAR: ",".join(keep), **(env or {})}
    log = tmp_path / "logs" / "startup_script_execution" / "worker-1.log"
    result = subprocess.run([sys.executable, launcher.__file__, "--script", str(path), "--timeout", str(timeout),
                             "--log", str(log), "--", *SHOW], env=base, capture_output=True, text=True, timeout=60)
    return result, log.read_text()


def test_exports_reach_the_component_and_reserved_ones_do_not(tmp_path):
    result, log = launch(tmp_path, 'echo "hello from $MWAA_AIRFLOW_COMPONENT"\nexport MY_VAR=from-script\n'
                                   'export AIRFLOW__CORE__EXECUTOR=LocalExecutor\nexport PATH="/opt/x:$PATH"\n')
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)
    assert env["MY_VAR"] == "from-script"
    assert env["PATH"] == "/opt/x:/usr/bin:/bin"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert launcher.KEEP_VAR not in env
    assert "hello from worker" in log
    assert "the startup script set AIRFLOW__CORE__EXECUTOR, a variable the environment reserves" in log


def test_failing_script_stops_the_component(tmp_path):
    result, log = launch(tmp_path, "echo installing\necho 'cannot reach the repository' >&2\nexit 3\n")
    assert result.returncode == launcher.SCRIPT_FAILED and result.stdout == ""
    assert "the startup script exited with code 3; the component does not start" in result.stderr
    assert "cannot reach the repository" in result.stderr and "startup_script_execution" in result.stderr
    assert "cannot reach the repository" in log


def test_hanging_script_is_stopped_at_the_limit(tmp_path):
    started = time.monotonic()
    result, log = launch(tmp_path, "echo waiting\nsleep 600\n", timeout=1.5)
    assert time.monotonic() - started < 15
    assert result.returncode == launcher.SCRIPT_FAILED
    assert "did not finish within 1.5 s and was stopped" in result.stderr
    assert "waiting" in log


def test_the_driver_tells_a_component_still_in_its_startup_script(tmp_path):
    from aerodrome.runtimes.local.processes import in_startup_script as _in_startup_script

    path = tmp_path / "startup.sh"
    path.write_text("sleep 30\n")
    log = tmp_path / "logs" / "startup_script_execution" / "worker-1.log"
    waiting = subprocess.Popen([sys.executable, launcher.__file__, "--script", str(path), "--timeout", "20",
                                "--log", str(log), "--", sys.executable, "-c", "pass"],
                               env={"PATH": "/usr/bin:/bin"}, start_new_session=True)
    plain = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert _in_startup_script(waiting.pid)
        assert not _in_startup_script(plain.pid)
        assert not _in_startup_script(None)
    finally:
        import os
        import signal

        os.killpg(waiting.pid, signal.SIGKILL)
        plain.kill()
        waiting.wait(10)
        plain.wait(10)
