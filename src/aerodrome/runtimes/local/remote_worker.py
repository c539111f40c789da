"""A remote worker host's Celery worker, decided purely: its folders, variables and command line.

The host keeps everything under its own home (`HostFolders`), one folder per environment, nothing
shared with the control plane's host. Its worker runs with the environment's configuration as the
main host's workers do (MWAA-like defaults < AirflowConfigurationOptions < what Aerodrome owns),
but with no database: Airflow 3 tasks reach the api-server's Execution API (through the
environment's HTTPS web endpoint, `[api] ssl_ca_file` trusting its CA) with a token the scheduler
signed, and Celery's task states go to the broker (the result backend of Airflow 3 environments).
Broker and results travel over TLS (`rediss://`), checked against the broker doors' CA. The broker
URL holds the host's password: it is passed in the worker's environment, never on its command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aerodrome import errors
from aerodrome.domain import worker_join
from aerodrome.domain.spec import AIRFLOW_RELEASES, EnvironmentSpec
from aerodrome.runtimes.local import airflow_env

HOST_VARIABLE = "AERODROME_WORKER_HOST"  # tasks can tell which host runs them


@dataclass(frozen=True)
class Joined:
    """What the join handshake told the host (the broker URL holds its password)."""

    environment: str
    token_id: str
    host: str
    queue: str
    spec: EnvironmentSpec
    broker_url: str
    broker_ca: str
    execution_api_url: str
    web_ca: str | None = None
    region: str = "us-east-1"

    def __repr__(self) -> str:
        return f"Joined({self.environment!r}, host={self.host!r}, queue={self.queue!r})"

    @classmethod
    def from_answer(cls, answer: dict) -> Joined:
        missing = {"BrokerUrl", "BrokerCa", "ExecutionApiUrl", "Spec"} - set(answer)
        if missing:
            raise errors.Permanent(f"The control plane's join answer lacks {', '.join(sorted(missing))}; "
                                   "it lets no worker hosts in.")
        return cls(environment=answer["Environment"], token_id=answer["TokenId"], host=answer["Host"],
                   queue=answer["Queue"], spec=worker_join.from_worker_spec(answer["Environment"], answer["Spec"]),
                   broker_url=answer["BrokerUrl"], broker_ca=answer["BrokerCa"],
                   execution_api_url=answer["ExecutionApiUrl"], web_ca=answer.get("WebCa"),
                   region=answer.get("Region") or "us-east-1")


@dataclass(frozen=True)
class HostFolders:
    """The host's home: shared venvs, and one folder per environment it works for."""

    home: Path
    environment: str

    @property
    def venvs(self) -> Path:
        return self.home / "venvs"

    @property
    def root(self) -> Path:
        return self.home / "environments" / self.environment

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def broker_ca(self) -> Path:
        return self.secrets / "broker-ca.pem"

    @property
    def web_ca(self) -> Path:
        return self.secrets / "web-ca.pem"

    @property
    def join_token(self) -> Path:
        """The host's join token (0600): its tasks show it for the execution role's credentials."""
        return self.secrets / "join.token"


def check_version(version: str) -> None:
    """A version this host can build, or errors.Permanent saying why not."""
    if version not in AIRFLOW_RELEASES:
        raise errors.Permanent(f"This Aerodrome cannot build Airflow {version} (it knows "
                               f"{', '.join(sorted(AIRFLOW_RELEASES))}); upgrade Aerodrome on this host.")


def concurrency_of(spec: EnvironmentSpec) -> int:
    """Task slots of a host's worker unless told otherwise: as many as the class gives a worker."""
    return airflow_env.WORKER_CONCURRENCY.get(spec.environment_class, 5)


def result_backend(broker_url: str, ca_file: Path) -> str:
    """Celery's result backend over the same TLS door as the broker, checking the door's CA."""
    return f"{broker_url}?ssl_cert_reqs=required&ssl_ca_certs={quote(str(ca_file), safe='')}"


def celery_hostname(joined: Joined, *, generation: int = 1) -> str:
    """`remote-<token id>@<host>`, and `remote-<token id>.<n>@<host>` for the worker that replaces the
    first n-1 (two workers never share a Celery hostname)."""
    suffix = f".{generation}" if generation > 1 else ""
    return f"remote-{joined.token_id}{suffix}@{joined.host}"


def worker_env(joined: Joined, folders: HostFolders, *, api_url: str, concurrency: int, base: dict[str, str],
               staged: dict[str, str]) -> dict[str, str]:
    """Every variable of the host's worker (`staged`: the plugins folder and requirements overlay).
    Its tasks reach the control plane at `api_url` for the execution role's credentials (shown the
    host's join token) and for MWAA, STS and CloudWatch calls, as tasks on the main host do."""
    spec = joined.spec
    sized = {"celery.worker_autoscale": f"{concurrency},{concurrency}"}
    options = {**airflow_env.DEFAULTS, **spec.airflow_configuration_options, **sized}
    env = dict(base)
    env.update({airflow_env.option_var(k): v for k, v in options.items()})
    env.update(staged)
    env.update({
        "AIRFLOW_HOME": str(folders.root / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(folders.dags),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folders.logs / "task"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": joined.execution_api_url,
        "AIRFLOW__CELERY__BROKER_URL": joined.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend(joined.broker_url, folders.broker_ca),
        "AIRFLOW__CELERY__SSL_ACTIVE": "True",
        "AIRFLOW__CELERY__SSL_MUTUAL_TLS": "False",
        "AIRFLOW__CELERY__SSL_CACERT": str(folders.broker_ca),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        "AIRFLOW__METRICS__STATSD_ON": "False",  # the control plane's StatsD listener is on its loopback
        "AIRFLOW_CONN_AWS_DEFAULT": "aws://",
        "AWS_EXECUTION_ENV": "Amazon_MWAA_" + spec.airflow_version.replace(".", ""),
        "AIRFLOW_ENV_NAME": spec.name,
        "AIRFLOW_VERSION": spec.airflow_version,
        "MWAA_AIRFLOW_COMPONENT": "worker",
        "PYTHONUNBUFFERED": "1",
        HOST_VARIABLE: joined.host,
    })
    env.update(airflow_env.aws_clients(api_url=api_url.rstrip("/"), token_file=str(folders.join_token),
                                       region=joined.region))
    if joined.web_ca is not None:
        env["AIRFLOW__API__SSL_CA_FILE"] = str(folders.web_ca)
    return env


def worker_argv(joined: Joined, venv: Path, *, concurrency: int, hostname: str | None = None) -> list[str]:
    """`airflow celery worker` for the token's queue. No log server (it would listen on every
    interface); no mingle or gossip, which only talk to other workers."""
    return [str(venv / "bin" / "airflow"), "celery", "worker", "--queues", joined.queue,
            "--concurrency", str(concurrency), "--celery-hostname", hostname or celery_hostname(joined),
            "--skip-serve-logs", "--without-mingle", "--without-gossip"]
