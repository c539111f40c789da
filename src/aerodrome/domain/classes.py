"""MWAA's environment classes and configuration rules, as plain data. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvironmentClass:
    name: str
    concurrency: int  # Celery tasks per worker (MWAA's "concurrent tasks by default")
    triggerer_capacity: int  # deferred tasks per triggerer
    max_schedulers: int
    max_workers: int
    max_webservers: int


CLASSES = {c.name: c for c in (
    EnvironmentClass("mw1.micro", 3, 60, max_schedulers=1, max_workers=1, max_webservers=1),
    EnvironmentClass("mw1.small", 5, 60, max_schedulers=5, max_workers=25, max_webservers=5),
    EnvironmentClass("mw1.medium", 10, 125, max_schedulers=5, max_workers=25, max_webservers=5),
    EnvironmentClass("mw1.large", 20, 250, max_schedulers=5, max_workers=25, max_webservers=5),
    EnvironmentClass("mw1.xlarge", 40, 500, max_schedulers=5, max_workers=25, max_webservers=5),
    EnvironmentClass("mw1.2xlarge", 80, 1000, max_schedulers=5, max_workers=25, max_webservers=5),
)}

# AirflowConfigurationOptions MWAA does not let users set: its documented unsupported keys, and the
# essential settings the service owns (a value here would be silently overridden, so refuse it).
BLOCKED_OPTIONS = {
    "core.multi_team": "Teams turns multi-team mode on",
    "triggerer.queues_enabled": "MWAA does not support triggerer queues",
    "core.executor": "the environment always runs the CeleryExecutor",
    "core.sql_alchemy_conn": "the metadata database connection is managed by the environment",
    "database.sql_alchemy_conn": "the metadata database connection is managed by the environment",
    "core.fernet_key": "the Fernet key is managed by the environment",
    "celery.broker_url": "the Celery broker is managed by the environment",
    "celery.result_backend": "the Celery result backend is managed by the environment",
    "core.dags_folder": "DAGs come from DagS3Path",
    "core.plugins_folder": "plugins come from PluginsS3Path",
    "logging.base_log_folder": "logs are managed by LoggingConfiguration",
}

# Variables a startup script may not change (MWAA restores them and logs the attempt).
RESERVED_VARIABLES = frozenset({
    "MWAA_AIRFLOW_COMPONENT", "MWAA__AIRFLOW__COMPONENT", "AIRFLOW__WEBSERVER__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW_HOME", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__METRICS__METRICS_BLOCK_LIST", "SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__DEFAULT_QUEUE",
    "AIRFLOW__OPERATORS__DEFAULT_QUEUE", "AIRFLOW_VERSION", "AIRFLOW_CONN_AWS_DEFAULT", "AWS_DEFAULT_REGION",
    "AWS_REGION", "PYTHONUNBUFFERED", "AIRFLOW__METRICS__STATSD_ALLOW_LIST", "AIRFLOW__METRICS__STATSD_ON",
    "AIRFLOW__METRICS__STATSD_HOST", "AIRFLOW__METRICS__STATSD_PORT", "AIRFLOW__METRICS__STATSD_PREFIX",
    "AIRFLOW__CELERY__WORKER_AUTOSCALE", "AIRFLOW__CORE__DAG_CONCURRENCY", "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG",
    "AIRFLOW__CORE__PARALLELISM", "AIRFLOW__SCHEDULER__PARSING_PROCESSES",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__REGION", "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__PREDEFINED_QUEUES",
    "AIRFLOW_SCHEDULER_ALLOWED_RUN_ID_PATTERN", "AIRFLOW__WEBSERVER__BASE_URL", "PYTHONPATH",
})


def class_problems(environment_class: str, *, min_workers: int, max_workers: int, schedulers: int,
                   min_webservers: int, max_webservers: int) -> list[str]:
    """What breaks the class's limits (an unknown class is reported elsewhere)."""
    sizing = CLASSES.get(environment_class)
    if sizing is None:
        return []
    found = []
    for label, value, limit in (("MaxWorkers", max_workers, sizing.max_workers),
                                ("MinWorkers", min_workers, sizing.max_workers),
                                ("Schedulers", schedulers, sizing.max_schedulers),
                                ("MaxWebservers", max_webservers, sizing.max_webservers),
                                ("MinWebservers", min_webservers, sizing.max_webservers)):
        if limit < value <= 5 or (value > limit and "Workers" in label):  # above 5: the range rule says it
            found.append(f"{label} ({value}) is more than {environment_class} allows ({limit}); lower it or "
                         "choose a larger EnvironmentClass.")
    return found


def option_problems(options: dict[str, str]) -> list[str]:
    return [f"AirflowConfigurationOptions key {key} cannot be set: {BLOCKED_OPTIONS[key]}."
            for key in sorted(options) if key in BLOCKED_OPTIONS]
