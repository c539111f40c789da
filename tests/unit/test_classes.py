"""Environment classes and configuration rules, as MWAA sizes and restricts them."""

from aerodrome.domain import classes
from aerodrome.domain.spec import EnvironmentSpec
from tests.support import env_of


def spec(**extra):
    return EnvironmentSpec(name="dev", execution_role_arn="arn:aws:iam::000000000000:role/r",
                           source_bucket_arn="arn:aws:s3:::b", dag_s3_path="dags", **extra)


def test_class_sets_worker_concurrency_and_triggerer_capacity():
    env = env_of(spec(environment_class="mw1.large"))
    assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "20"
    assert env["AIRFLOW__CELERY__WORKER_AUTOSCALE"] == "20,20"  # a fixed pool: a draining worker holds no reserved task
    assert env["AIRFLOW__TRIGGERER__CAPACITY"] == "250"
    assert env_of(spec(environment_class="mw1.micro"))["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "3"


def test_class_limits():
    ok = {"min_workers": 1, "max_workers": 1, "schedulers": 1, "min_webservers": 1, "max_webservers": 1}
    assert classes.class_problems("mw1.micro", **ok) == []
    assert classes.class_problems("mw1.micro", **{**ok, "max_webservers": 2}) == [
        "MaxWebservers (2) is more than mw1.micro allows (1); lower it or choose a larger EnvironmentClass."]
    assert classes.class_problems("mw1.small", **{**ok, "max_workers": 25, "schedulers": 5}) == []
    assert classes.class_problems("mw1.small", **{**ok, "max_workers": 30})[0].startswith("MaxWorkers (30)")


def test_blocked_options_are_named():
    assert classes.option_problems({"core.multi_team": "True", "core.parallelism": "4"}) == [
        "AirflowConfigurationOptions key core.multi_team cannot be set: Teams turns multi-team mode on."]
    assert classes.option_problems({"foo.bar": "1", "secrets.backend": "x"}) == []


def test_log_levels_follow_logging_configuration():
    from aerodrome.domain.spec import ModuleLogging
    from aerodrome.runtimes.local import log_levels

    s = spec(logging={"SchedulerLogs": ModuleLogging(enabled=True, log_level="DEBUG"),
                      "WorkerLogs": ModuleLogging(enabled=False, log_level="ERROR")})
    assert log_levels.level_env(s, "scheduler") == {"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"}
    assert log_levels.level_env(s, "triggerer") == {"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"}
    assert log_levels.level_env(s, "worker") == {}  # disabled: Airflow's default
    assert log_levels.level_env(s.replace(airflow_configuration_options={"logging.logging_level": "WARNING"}),
                                "scheduler") == {}
