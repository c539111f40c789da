"""Environment contents end to end, on one Airflow 3 environment: a package from requirements.txt,
an operator from plugins.zip and a configuration option, each proven from inside a task; then broken
requirements, a zip-slip archive and a zip bomb each fail the update at once with a clear error while
the environment keeps running what it had."""

import time

import pytest

from tests.support import (
    NETWORK,
    ROLE,
    UNPAUSED,
    Airflow,
    clients_of,
    delete_environments,
    trigger_and_wait,
    wait_for,
    zipped,
)

pytestmark = pytest.mark.e2e

BUCKET = "contents-bucket"
DAG = b'''
import datetime, os
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from aerodrome_e2e_ops import ShoutOperator

def check():
    import pyjokes  # from requirements.txt, not in the Airflow venv
    from airflow.configuration import conf
    print("joke:", pyjokes.get_joke())
    assert os.environ["AIRFLOW__CUSTOM__COLOR"] == "teal"
    assert conf.get("custom", "color") == "teal"
    assert os.environ["MWAA_AIRFLOW_COMPONENT"] == "worker"
    assert os.environ["STARTUP_MARKER"] == "set-by-worker"  # exported by the startup script
    assert os.environ["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"  # reserved: the script's value is ignored
    # what MWAA's images give user code
    import airflow.providers.amazon, airflow.providers.ftp, airflow.providers.imap, airflow.providers.sqlite
    assert os.environ["AIRFLOW_CONN_AWS_DEFAULT"] == "aws://"
    assert os.environ["AWS_EXECUTION_ENV"] == "Amazon_MWAA_332"
    assert conf.getfloat("scheduler", "task_queued_timeout") == 1800

with DAG("contents_probe", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="check", python_callable=check) >> ShoutOperator(task_id="shout", word="hi")
'''
STARTUP = b"""
echo "startup for $MWAA_AIRFLOW_COMPONENT"
export STARTUP_MARKER="set-by-$MWAA_AIRFLOW_COMPONENT"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CUSTOM__COLOR=red
"""
OPERATOR = b'''
from airflow.models.baseoperator import BaseOperator

class ShoutOperator(BaseOperator):
    def __init__(self, *, word, **kwargs):
        super().__init__(**kwargs)
        self.word = word

    def execute(self, context):
        print("shout:", self.word.upper())
        return self.word.upper()
'''


@pytest.fixture(scope="module")
def env(shared_plane):
    """One environment on the session's control plane (which limits plugins.zip to 4 MiB once extracted
    and startup scripts to 6 s); deleted after the module."""
    mwaa, s3 = clients_of(shared_plane)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="dags/probe.py", Body=DAG)
    s3.put_object(Bucket=BUCKET, Key="requirements.txt", Body=b"pyjokes==0.8.3\n")
    s3.put_object(Bucket=BUCKET, Key="plugins.zip", Body=zipped({"aerodrome_e2e_ops.py": OPERATOR}))
    s3.put_object(Bucket=BUCKET, Key="startup.sh", Body=STARTUP)
    mwaa.create_environment(
        Name="contents", ExecutionRoleArn=ROLE, SourceBucketArn=f"arn:aws:s3:::{BUCKET}", DagS3Path="dags",
        MaxWorkers=2, NetworkConfiguration=NETWORK, RequirementsS3Path="requirements.txt",
        PluginsS3Path="plugins.zip", StartupScriptS3Path="startup.sh",
        AirflowConfigurationOptions={**UNPAUSED, "custom.color": "teal"})
    try:
        wait_for(lambda: status(mwaa) != "CREATING", timeout=600, interval=1, what="create to finish")
        yield shared_plane, mwaa, s3
    finally:
        delete_environments(mwaa, ["contents"])


def status(mwaa):
    return mwaa.get_environment(Name="contents")["Environment"]["Status"]


def probe(plane):
    airflow = Airflow(plane, "contents")
    wait_for(lambda: airflow.get("/dags/contents_probe").status_code == 200, timeout=90, what="the DAG")
    return trigger_and_wait(airflow, "contents_probe", timeout=180)


def failed_update(mwaa, **members):
    """Update, wait for it to settle; (seconds to UPDATE_FAILED, error message)."""
    started = time.monotonic()
    mwaa.update_environment(Name="contents", **members)
    wait_for(lambda: status(mwaa) != "UPDATING", timeout=120, interval=0.2, what="the update to settle")
    elapsed = time.monotonic() - started
    env = mwaa.get_environment(Name="contents")["Environment"]
    assert env["Status"] == "UPDATE_FAILED", env["LastUpdate"]
    return elapsed, env["LastUpdate"]["Error"]["ErrorMessage"]


def test_requirements_plugins_and_options_reach_the_task(env):
    plane, mwaa, _ = env
    described = mwaa.get_environment(Name="contents")["Environment"]
    assert described["Status"] == "AVAILABLE", described["LastUpdate"]
    assert described["RequirementsS3ObjectVersion"] and described["PluginsS3ObjectVersion"]
    assert probe(plane) == "success"
    logs = Airflow(plane, "contents").placement.logs_dir / "startup_script_execution"
    assert "startup for scheduler" in (logs / "scheduler-1.log").read_text()
    worker_log = (logs / "worker-1.log").read_text()
    assert "startup for worker" in worker_log
    assert "the startup script set AIRFLOW__CORE__EXECUTOR, a variable the environment reserves" in worker_log


def test_unresolvable_requirements_fail_fast_and_keep_serving(env):
    plane, mwaa, s3 = env
    s3.put_object(Bucket=BUCKET, Key="requirements.txt", Body=b"aerodrome-no-such-package-e2e==1.0\n")
    elapsed, message = failed_update(mwaa, RequirementsS3Path="requirements.txt")
    assert "requirements.txt could not be resolved" in message
    assert "aerodrome-no-such-package-e2e" in message and "not found in the package registry" in message
    assert elapsed < 30
    # a file that fights the Airflow version's own packages is refused by the constraints
    s3.put_object(Bucket=BUCKET, Key="requirements.txt", Body=b"sqlalchemy==1.3.0\n")
    _, message = failed_update(mwaa, RequirementsS3Path="requirements.txt")
    assert "sqlalchemy" in message and "unsatisfiable" in message
    described = mwaa.get_environment(Name="contents")["Environment"]
    assert described["RequirementsS3ObjectVersion"] != "", "the previous pin is what serves"
    assert probe(plane) == "success"  # pyjokes is still there


@pytest.mark.parametrize(("archive", "why"), [
    ({"../../escape.py": b"x = 1\n"}, "'../../escape.py' would be written outside the plugins folder"),
    ({"zeros.bin": b"\0" * (8 << 20)}, "expands to more than 4194304 bytes"),
])
def test_bad_plugins_fail_and_keep_previous_plugins(env, archive, why):
    plane, mwaa, s3 = env
    s3.put_object(Bucket=BUCKET, Key="plugins-bad.zip", Body=zipped(archive))
    _, message = failed_update(mwaa, PluginsS3Path="plugins-bad.zip")
    assert why in message and "keeps running its previous plugins" in message
    assert mwaa.get_environment(Name="contents")["Environment"]["PluginsS3Path"] == "plugins.zip"
    assert probe(plane) == "success"


def test_hanging_startup_script_rolls_back(env):
    """The plane's time limit reaches the launcher; a script that exits non-zero ends the same way
    (the launcher's exit code, tests/unit/test_startup_launcher.py)."""
    plane, mwaa, s3 = env
    why = "the startup script did not finish within 6 s and was stopped"
    s3.put_object(Bucket=BUCKET, Key="startup-bad.sh", Body=b"echo 'waiting for a lock'\nsleep 600\n")
    mwaa.update_environment(Name="contents", StartupScriptS3Path="startup-bad.sh")
    wait_for(lambda: status(mwaa) in ("UPDATE_FAILED", "AVAILABLE", "UNAVAILABLE"), timeout=240, interval=1,
             what="the update to settle")
    described = mwaa.get_environment(Name="contents")["Environment"]
    assert described["Status"] == "UPDATE_FAILED", described["LastUpdate"]
    message = described["LastUpdate"]["Error"]["ErrorMessage"]
    # the driver fails the update on the launcher's exit code, not after restarts or the health timeout
    assert message.startswith("the startup script failed on "), message
    assert why in message and "startup_script_execution" in message
    assert described["StartupScriptS3Path"] == "startup.sh"
    assert probe(plane) == "success"
