"""Environment variables of each Airflow component: pure functions of the spec and the placement.

Precedence (low to high): Aerodrome's MWAA-like defaults < the user's AirflowConfigurationOptions
< essential settings Aerodrome owns (executor, database, broker, secrets).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aerodrome.domain import classes
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import teams
from aerodrome.settings import ROLE_CREDENTIALS_PATH

# Celery concurrency per worker by environment class, as MWAA sizes them.
WORKER_CONCURRENCY = {name: sizing.concurrency for name, sizing in classes.CLASSES.items()}

# Opinionated defaults a user may override with AirflowConfigurationOptions.
DEFAULTS = {
    "core.load_examples": "False",
    "scheduler.task_queued_timeout": "1800",
    "scheduler.schedule_after_task_execution": "False",
    # Idle cost (each a departure from MWAA's defaults, which are Airflow's; docs/architecture.md,
    # "Idle cost"). Files: a sync that changes DAG files asks the dag-processor to parse them at once
    # (parse_requests.py), and Airflow re-parses a file whose mtime moved within a second, so the
    # rescans below only catch what no sync announced. Airflow 3 rescans its bundle every 5 minutes
    # (Airflow's and MWAA's default; Aerodrome had 5 s) ...
    "dag_processor.refresh_interval": "300",
    "scheduler.dag_dir_list_interval": "5",  # Airflow 2 lists the folder cheaply; new files parse on request
    # ... and parses an unchanged file every 5 minutes, not every 30 s (MWAA: 30): a DAG whose shape
    # depends on Variables or outside data picks up their changes within 5 minutes.
    "dag_processor.min_file_process_interval": "300",
    "scheduler.min_file_process_interval": "300",
    # The scheduler's loop sleeps 2 s when it found nothing to do (MWAA: 1 s): half the queries an
    # idle scheduler sends; a new run or a ready task waits up to 1 s more to be queued.
    "scheduler.scheduler_idle_sleep_time": "2",
    # Pool gauges every 30 s (MWAA: 5 s): CloudWatch keeps them per minute anyway.
    "scheduler.pool_metrics_interval": "30",
    # Airflow 3's Celery worker forks a process (about 80 MB) that every 30 minutes removes stale
    # copies of versioned dag bundles; every bundle here is a local folder, which has no versions.
    "dag_processor.stale_bundle_cleanup_interval": "0",
    "celery_broker_transport_options.visibility_timeout": "43200",
    "api.workers": "1",
    "webserver.workers": "1",
    "core.lazy_load_plugins": "False",
    # Airflow 3: a running task reaches the api-server through these retries; they outlast its restart
    # during an update, so the task reports its end instead of failing.
    "workers.execution_api_retries": "20",
    "workers.execution_api_retry_wait_max": "20",
    # Airflow 2: let API clients log in with a user and password, not only a browser session
    "api.auth_backends": "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
    # Airflow's own metrics go to the control plane's StatsD listener (as MWAA sends them to CloudWatch);
    # metrics.metrics_allow_list / metrics_block_list filter them in Airflow, as on MWAA
    "metrics.statsd_on": "True",
}


@dataclass(frozen=True)
class Wiring:
    """Addresses and secrets an environment's components share (never logged)."""

    database_url: str
    broker_url: str
    fernet_key: str
    jwt_secret: str
    web_secret: str
    passwords_file: str
    user: str | None = None  # the environment's own OS user (None: the control plane's)
    role_token_file: str = ""  # the token for the execution role's credentials (see below)
    api_url: str = ""  # where the control plane's API answers on this host
    region: str = "us-east-1"
    ca_bundle: str | None = None  # public roots + the local CA, for the HTTPS web endpoints
    statsd_port: int = 0  # the control plane's StatsD listener (0: none)
    statsd_prefix: str = ""  # the environment's secret metric prefix

    def __repr__(self) -> str:
        return "Wiring(<secrets hidden>)"


def option_var(key: str) -> str:
    """`core.dags_folder` -> `AIRFLOW__CORE__DAGS_FOLDER`."""
    section, _, option = key.partition(".")
    return f"AIRFLOW__{section.upper()}__{option.upper()}"


def is_airflow3(version: str) -> bool:
    return int(version.split(".")[0]) >= 3


def component_env(spec: EnvironmentSpec, placement: Placement, wiring: Wiring, *, component: str,
                  base: dict[str, str]) -> dict[str, str]:
    """All variables for one component (`scheduler`, `worker`, `webserver`, `triggerer`, `dag-processor`)."""
    concurrency = WORKER_CONCURRENCY.get(spec.environment_class, 5)
    # A fixed pool (MWAA's default, "5,5" on mw1.small): with acks_late and a prefetch of one per
    # process, a worker holds no task it cannot start at once. A pool that shrinks would keep
    # messages reserved, and a draining worker hands those back only when it exits.
    sizing = classes.CLASSES.get(spec.environment_class)
    capacity = sizing.triggerer_capacity if sizing else 60
    sized = {"celery.worker_autoscale": f"{concurrency},{concurrency}",
             ("triggerer.capacity" if is_airflow3(spec.airflow_version) else "triggerer.default_capacity"):
                str(capacity)}
    options = {**DEFAULTS, **sized, **spec.airflow_configuration_options}
    env = dict(base)
    env.update({option_var(k): v for k, v in options.items()})
    env.update(_essential(spec, placement, wiring))
    env["MWAA_AIRFLOW_COMPONENT"] = component
    if wiring.user is not None:  # its own home: the control plane's is not its to write
        env["HOME"] = str(placement.root / "airflow_home")
    return env


def _essential(spec: EnvironmentSpec, placement: Placement, wiring: Wiring) -> dict[str, str]:
    root = placement.root
    concurrency = WORKER_CONCURRENCY.get(spec.environment_class, 5)
    env = {
        "AIRFLOW_HOME": str(root / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(placement.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(placement.logs_dir / "task"),
        "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(placement.logs_dir / "dag_processor"),
        "AIRFLOW__SCHEDULER__CHILD_PROCESS_LOG_DIRECTORY": str(placement.logs_dir / "dag_processor"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": wiring.database_url,
        "AIRFLOW__CELERY__BROKER_URL": wiring.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend(spec, wiring),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        "AIRFLOW__CORE__FERNET_KEY": wiring.fernet_key,
        "AIRFLOW__CORE__PARALLELISM": str(max(32, concurrency * spec.max_workers)),
        "AIRFLOW_CONN_AWS_DEFAULT": "aws://",
        "AWS_EXECUTION_ENV": "Amazon_MWAA_" + spec.airflow_version.replace(".", ""),
        "AIRFLOW_ENV_NAME": spec.name,
        "AIRFLOW_VERSION": spec.airflow_version,
        "PYTHONUNBUFFERED": "1",
    }
    if wiring.api_url:
        env.update(aws_clients(api_url=wiring.api_url, token_file=wiring.role_token_file, region=wiring.region,
                               ca_bundle=wiring.ca_bundle))
    if wiring.statsd_port:
        env.update({"AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                    "AIRFLOW__METRICS__STATSD_PORT": str(wiring.statsd_port),
                    "AIRFLOW__METRICS__STATSD_PREFIX": wiring.statsd_prefix})
    else:
        env["AIRFLOW__METRICS__STATSD_ON"] = "False"
    web = f"http://localhost:{placement.web_port}"
    if is_airflow3(spec.airflow_version):
        env.update({
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{placement.web_port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": wiring.jwt_secret,
            "AIRFLOW__API__SECRET_KEY": wiring.web_secret,
            "AIRFLOW__API__BASE_URL": web,
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": wiring.passwords_file,
        })
        env.update(teams.airflow_variables(spec, placement))
    else:
        env.update({
            "AIRFLOW__WEBSERVER__SECRET_KEY": wiring.web_secret,
            "AIRFLOW__WEBSERVER__BASE_URL": web,
            "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
        })
    return env


def result_backend(spec: EnvironmentSpec, wiring: Wiring) -> str:
    """Where Celery keeps task states: Airflow 3's in the broker (celery-task-meta-* keys), so a remote
    worker host, whose tasks need no database, needs none for the results either; Airflow 2's in the
    metadata database, which its workers use anyway."""
    if is_airflow3(spec.airflow_version):
        return wiring.broker_url
    return "db+" + wiring.database_url.replace("+psycopg2", "")


def aws_clients(*, api_url: str, token_file: str, region: str, ca_bundle: str | None = None) -> dict[str, str]:
    """boto3 in a task acts as the execution role (credentials from the container provider every SDK
    has, refreshed before they expire, shown the token in `token_file`) and reaches this control plane
    at `api_url` for MWAA and STS calls."""
    trust = {"REQUESTS_CA_BUNDLE": ca_bundle, "AWS_CA_BUNDLE": ca_bundle} if ca_bundle else {}
    return {
        **trust,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": api_url + ROLE_CREDENTIALS_PATH,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": token_file,
        "AWS_ENDPOINT_URL_MWAA": api_url,
        "AWS_ENDPOINT_URL_STS": api_url,
        "AWS_ENDPOINT_URL_CLOUDWATCH": api_url,  # a task's put_metric_data lands in Aerodrome
        # and its CloudWatch Logs calls: SDKs read the service id's name (CLOUDWATCH_LOGS); LOGS for others
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": api_url,
        "AWS_ENDPOINT_URL_LOGS": api_url,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


def components(spec: EnvironmentSpec, *, workers: int | None = None) -> list[tuple[str, str]]:
    """(process name, MWAA component) for every process the spec asks for (`workers` Celery
    workers, by default the spec's minimum)."""
    web = "api-server" if is_airflow3(spec.airflow_version) else "webserver"
    names = [(web, "webserver"), ("dag-processor", "dag-processor"), ("triggerer", "triggerer")]
    names += [(f"scheduler-{i}", "scheduler") for i in range(1, spec.schedulers + 1)]
    count = spec.min_workers if workers is None else workers
    names += [(f"worker-{i}", "worker") for i in range(1, count + 1)]
    return names


def argv(spec: EnvironmentSpec, placement: Placement, name: str, *, env_id: str, venv: Path) -> list[str]:
    """The command line of one process."""
    if name == "webserver":
        return [str(venv / "bin" / "python"), "-m", "gunicorn", *web_server_arguments(spec, placement)]
    return [str(venv / "bin" / "airflow"), *command(spec, placement, name, env_id=env_id)]


def web_server_arguments(spec: EnvironmentSpec, placement: Placement) -> list[str]:
    """Airflow 2's web server as `airflow webserver` starts it (gunicorn, Airflow's hooks, the app
    preloaded once), without the monitor process that command puts in front of gunicorn. The monitor
    restarts workers on a timer and exits when its count of gunicorn's children disagrees with its own
    for `web_server_master_timeout`; the supervisor restarts a web server that exits, so the monitor
    only added a process, a poll every second and a way to die. Its options are read from the
    environment's configuration here, so a startup script's export of them does not reach gunicorn."""
    options = {**DEFAULTS, **spec.airflow_configuration_options}
    arguments = ["--workers", options.get("webserver.workers", "1"),
                 "--worker-class", options.get("webserver.worker_class", "sync"),
                 "--timeout", options.get("webserver.web_server_worker_timeout", "120"),
                 "--bind", f"127.0.0.1:{placement.web_port}", "--name", "airflow-webserver",
                 "--config", "python:airflow.www.gunicorn_config",
                 "--access-logfile", "-", "--error-logfile", "-"]
    if options.get("webserver.access_logformat", "").strip():
        arguments += ["--access-logformat", options["webserver.access_logformat"]]
    return [*arguments, "--preload", "airflow.www.app:cached_app()"]


def command(spec: EnvironmentSpec, placement: Placement, name: str, *, env_id: str) -> list[str]:
    """The `airflow` arguments of one process (not Airflow 2's web server: see web_server_arguments)."""
    if name == "api-server":
        return ["api-server", "--host", "127.0.0.1", "--port", str(placement.web_port), "--workers", "1"]
    if name.startswith("scheduler"):
        return ["scheduler"]
    # Every component shares one log folder on this host, so the web server reads task logs from
    # disk: workers and the triggerer need no log servers of their own (Airflow's would listen on
    # every interface, where other hosts' callers could read task logs).
    if name.startswith("worker"):
        concurrency = WORKER_CONCURRENCY.get(spec.environment_class, 5)
        return ["celery", "worker", "--celery-hostname", f"{name}@{env_id}", "--concurrency", str(concurrency),
                "--skip-serve-logs"]
    if name == "triggerer":
        return ["triggerer", "--skip-serve-logs"]
    return [name]
