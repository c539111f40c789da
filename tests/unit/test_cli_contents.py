"""The contents commands: strict exit codes, reserved variables, log groups, endpoint confirmation."""

from pathlib import Path

from aerodrome.cli import main
from aerodrome.domain.spec import EnvironmentSpec, ModuleLogging
from aerodrome.runtimes.local.placement import HostPlacements
from aerodrome.services.environments import EnvironmentService
from aerodrome.store.db import Store


def run(monkeypatch, home: Path, *argv: str) -> int:
    monkeypatch.setenv("AERODROME_HOME", str(home))
    return main(list(argv))


def test_startup_script_tool(monkeypatch, tmp_path, capsys):
    good = tmp_path / "good.sh"
    good.write_text('echo "on $MWAA_AIRFLOW_COMPONENT"\nexport JAVA_HOME=/opt/java\nexport AIRFLOW_HOME=/elsewhere\n')
    assert run(monkeypatch, tmp_path / "home", "test-startup-script", str(good), "--component", "scheduler") == 0
    out = capsys.readouterr().out
    assert "on scheduler" in out and "exports JAVA_HOME" in out
    assert "exports AIRFLOW_HOME" not in out and "AIRFLOW_HOME, a variable the environment reserves" in out
    bad = tmp_path / "bad.sh"
    bad.write_text("exit 2\n")
    assert run(monkeypatch, tmp_path / "home", "test-startup-script", str(bad)) == 1
    assert "exited with code 2" in capsys.readouterr().err
    slow = tmp_path / "slow.sh"
    slow.write_text("sleep 30\n")
    assert run(monkeypatch, tmp_path / "home", "test-startup-script", str(slow), "--timeout", "1") == 1
    assert "did not finish within 1 s" in capsys.readouterr().err
    assert run(monkeypatch, tmp_path / "home", "test-startup-script", str(tmp_path / "missing.sh")) == 1


def make_env(home: Path, **extra) -> tuple[EnvironmentService, Path]:
    from aerodrome.settings import Settings

    settings = Settings(home=home, serve_s3=False)
    (settings.buckets_dir / "b").mkdir(parents=True)
    store = Store(settings.store_url)
    store.migrate()
    service = EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings), wake=lambda _: None)
    service.create(EnvironmentSpec(name="dev", execution_role_arn="arn:aws:iam::000000000000:role/r",
                                   source_bucket_arn="arn:aws:s3:::b", dag_s3_path="dags", **extra), tags={})
    root = service.placement("dev").root
    store.close()
    return service, root


def test_logs_by_component_with_grep(monkeypatch, tmp_path, capsys):
    home = tmp_path / "home"
    _, root = make_env(home, logging={"WorkerLogs": ModuleLogging(enabled=False)})
    (root / "logs" / "task" / "dag_id=d" / "run_id=r" / "task_id=t").mkdir(parents=True)
    (root / "logs" / "task" / "dag_id=d" / "run_id=r" / "task_id=t" / "attempt=1.log").write_text("task says hi\n")
    (root / "logs" / "scheduler-1.log").write_text("INFO starting\nERROR boom\n")
    (root / "logs" / "worker-1.log").write_text("worker line\n")
    assert run(monkeypatch, home, "logs", "dev", "--component", "scheduler", "--grep", "ERROR") == 0
    assert capsys.readouterr().out == "airflow-dev-Scheduler scheduler-1.log: ERROR boom\n"
    assert run(monkeypatch, home, "logs", "dev", "--component", "task") == 0
    assert "airflow-dev-Task task/dag_id=d/run_id=r/task_id=t/attempt=1.log: task says hi" in capsys.readouterr().out
    assert run(monkeypatch, home, "logs", "dev", "--component", "worker") == 1
    assert "WorkerLogs are disabled for dev" in capsys.readouterr().err
    assert run(monkeypatch, home, "logs", "nope") == 1


def test_logs_follow_prints_new_lines_and_new_files(tmp_path):
    import os
    import subprocess
    import sys
    import threading
    import time

    home = tmp_path / "home"
    _, root = make_env(home)
    attempts = root / "logs" / "task" / "dag_id=d" / "run_id=r" / "task_id=t"
    attempts.mkdir(parents=True)
    (attempts / "attempt=1.log").write_text("first\n")
    follower = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "logs", "dev", "--component", "task",
                                 "--follow"], env={**os.environ, "AERODROME_HOME": str(home)},
                                stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(30, follower.kill)  # a missing line ends the test instead of hanging it
    watchdog.start()
    try:
        assert follower.stdout.readline().endswith("attempt=1.log: first\n")
        with open(attempts / "attempt=1.log", "a") as handle:
            handle.write("second\n")
        assert follower.stdout.readline().endswith("attempt=1.log: second\n")
        time.sleep(0.2)
        (attempts / "attempt=2.log").write_text("retry\n")
        assert follower.stdout.readline().endswith("attempt=2.log: retry\n")
        assert follower.poll() is None  # still following
    finally:
        watchdog.cancel()
        follower.kill()
        follower.wait(10)
        follower.stdout.close()
