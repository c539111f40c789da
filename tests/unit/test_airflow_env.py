from pathlib import Path

from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import airflow_env
from tests.support import PLACEMENT, WIRING, env_of


def spec(**options):
    return EnvironmentSpec(name="dev", execution_role_arn="r", source_bucket_arn="arn:aws:s3:::b",
                           dag_s3_path="dags", airflow_configuration_options=options)


def test_user_options_become_variables_and_override_defaults():
    env = env_of(spec(**{"core.dags_are_paused_at_creation": "False", "scheduler.task_queued_timeout": "60",
                         "custom.marker": "x"}))
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert env["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"] == "60"
    assert env["AIRFLOW__CUSTOM__MARKER"] == "x"
    assert env_of(spec())["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"] == "1800"


def test_essential_settings_cannot_be_overridden():
    env = env_of(spec(**{"core.executor": "LocalExecutor", "database.sql_alchemy_conn": "sqlite://",
                         "celery.broker_url": "redis://elsewhere", "core.fernet_key": "mine"}))
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == WIRING.database_url
    assert env["AIRFLOW__CELERY__BROKER_URL"] == WIRING.broker_url
    assert env["AIRFLOW__CORE__FERNET_KEY"] == "f"


def test_mwaa_variables_for_user_code():
    env = env_of(spec(), component="worker")
    assert env["MWAA_AIRFLOW_COMPONENT"] == "worker"
    assert env["AIRFLOW_CONN_AWS_DEFAULT"] == "aws://"
    assert env["AWS_EXECUTION_ENV"] == "Amazon_MWAA_332"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8801/execution/"

def test_task_results_live_in_the_broker_on_airflow_3_and_in_the_database_on_airflow_2():
    assert env_of(spec())["AIRFLOW__CELERY__RESULT_BACKEND"] == WIRING.broker_url
    assert env_of(spec().replace(airflow_version="2.11.2"))["AIRFLOW__CELERY__RESULT_BACKEND"] == \
        "db+postgresql://u:p@127.0.0.1:5/env_e1"


def test_components_follow_the_spec():
    s = spec().replace(schedulers=2, min_workers=3)
    names = [n for n, _ in airflow_env.components(s)]
    assert names == ["api-server", "dag-processor", "triggerer", "scheduler-1", "scheduler-2",
                     "worker-1", "worker-2", "worker-3"]
    assert [n for n, _ in airflow_env.components(s.replace(airflow_version="2.11.2"))][0] == "webserver"
    assert airflow_env.command(s, PLACEMENT, "worker-2", env_id="e1")[:4] == [
        "celery", "worker", "--celery-hostname", "worker-2@e1"]


def test_no_component_runs_a_log_server_on_every_interface():
    for version in ("3.3.2", "2.11.2"):
        s = spec().replace(airflow_version=version)
        for name, _ in airflow_env.components(s):
            argv = airflow_env.argv(s, PLACEMENT, name, env_id="e1", venv=Path("/v"))
            if name.startswith("worker") or name == "triggerer":
                assert "--skip-serve-logs" in argv, (version, name)
            if name in ("api-server", "webserver"):
                assert "127.0.0.1" in argv or f"127.0.0.1:{PLACEMENT.web_port}" in argv, (version, name)


def test_secrets_stay_out_of_repr():
    assert "pw" not in repr(WIRING) and "p@" not in repr(WIRING)


def test_airflow_2_web_server_is_gunicorn_with_airflows_hooks_and_the_options_of_the_environment():
    s = spec().replace(airflow_version="2.11.2",
                       airflow_configuration_options={"webserver.web_server_worker_timeout": "300"})
    argv = airflow_env.argv(s, PLACEMENT, "webserver", env_id="e1", venv=Path("/v"))
    assert argv[:3] == ["/v/bin/python", "-m", "gunicorn"]
    assert argv[-2:] == ["--preload", "airflow.www.app:cached_app()"]  # the app built once, as Airflow does
    pairs = dict(zip(argv[3:-2:2], argv[4:-2:2], strict=True))
    assert pairs["--config"] == "python:airflow.www.gunicorn_config"
    assert (pairs["--workers"], pairs["--timeout"]) == ("1", "300")
    assert pairs["--bind"] == f"127.0.0.1:{PLACEMENT.web_port}"
