"""The environment spec: what a user asked for, in domain terms (snake_case, typed)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DEFAULT_AIRFLOW_VERSION = "3.3.2"
# Every Airflow version an environment may run, newest first: MWAA's current versions and the newest
# 2.x and 3.x on PyPI, with the day each was published there (an older version's venv resolves its
# packages as of then, as Airflow's constraints for it did).
AIRFLOW_RELEASES = {"3.3.2": "2026-09-17", "3.3.1": "2026-08-12", "3.2.1": "2026-04-22", "3.0.6": "2025-08-29",
                    "2.11.2": "2026-03-14", "2.11.0": "2025-05-20", "2.10.3": "2024-11-05", "2.10.1": "2024-09-06",
                    "2.9.2": "2024-06-10"}
SUPPORTED_AIRFLOW_VERSIONS = tuple(AIRFLOW_RELEASES)


def newest_of_line(version: str) -> bool:
    """Whether `version` is the newest supported release of its major line (2.x or 3.x)."""
    major = version.split(".")[0]
    same_line = [v for v in SUPPORTED_AIRFLOW_VERSIONS if v.split(".")[0] == major]
    return bool(same_line) and version == max(same_line, key=lambda v: tuple(int(p) for p in v.split(".")))
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

LOG_TYPES = ("DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs")
# log type -> the end of its CloudWatch log group's name, `airflow-<Environment>-<end>`, as MWAA names them
LOG_GROUPS = {"DagProcessingLogs": "DAGProcessing", "SchedulerLogs": "Scheduler", "TaskLogs": "Task",
              "WebserverLogs": "WebServer", "WorkerLogs": "Worker"}


def log_group(environment: str, log_type: str) -> str:
    return f"airflow-{environment}-{LOG_GROUPS[log_type]}"


@dataclass(frozen=True)
class ModuleLogging:
    enabled: bool = False
    log_level: str = "INFO"


@dataclass(frozen=True)
class TeamConfig:
    """One team of Airflow's multi-team mode (MWAA's TeamConfig): where its DAG folder lives."""

    source_bucket_arn: str
    dag_s3_path: str


@dataclass(frozen=True)
class IdentityCenter:
    """MWAA's IdentityCenterConfiguration: names the identity provider people of the teams sign in with."""

    start_url: str | None = None
    identity_store_id: str | None = None


@dataclass(frozen=True)
class EnvironmentSpec:
    """Desired state of one environment. Field names mirror MWAA's members in snake_case."""

    name: str
    execution_role_arn: str
    source_bucket_arn: str
    dag_s3_path: str
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    airflow_version: str = DEFAULT_AIRFLOW_VERSION
    environment_class: str = "mw1.small"
    max_workers: int = 10
    min_workers: int = 1
    schedulers: int = 1
    min_webservers: int = 1
    max_webservers: int = 1
    plugins_s3_path: str | None = None
    plugins_s3_object_version: str | None = None
    requirements_s3_path: str | None = None
    requirements_s3_object_version: str | None = None
    startup_script_s3_path: str | None = None
    startup_script_s3_object_version: str | None = None
    airflow_configuration_options: dict[str, str] = field(default_factory=dict)
    logging: dict[str, ModuleLogging] = field(default_factory=dict)
    webserver_access_mode: str = "PRIVATE_ONLY"
    weekly_maintenance_window_start: str | None = None
    kms_key: str | None = None
    endpoint_management: str = "SERVICE"
    worker_replacement_strategy: str | None = None
    # team name (the identity provider's group display name) -> its DAG folder; empty: no multi-team mode
    teams: dict[str, TeamConfig] = field(default_factory=dict)
    identity_center: IdentityCenter | None = None
    # teams removed by an update (not on the wire): Airflow keeps their DAGs, runs and code, which stay
    # theirs (an empty bundle of each) so that no other team's people see them
    retired_teams: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> EnvironmentSpec:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["subnet_ids"] = list(self.subnet_ids)
        data["security_group_ids"] = list(self.security_group_ids)
        data["retired_teams"] = list(self.retired_teams)
        return data

    @classmethod
    def from_json(cls, data: dict) -> EnvironmentSpec:
        data = dict(data)
        data["subnet_ids"] = tuple(data.get("subnet_ids", ()))
        data["security_group_ids"] = tuple(data.get("security_group_ids", ()))
        data["logging"] = {k: ModuleLogging(**v) for k, v in data.get("logging", {}).items()}
        data["teams"] = {k: TeamConfig(**v) for k, v in (data.get("teams") or {}).items()}
        data["retired_teams"] = tuple(data.get("retired_teams") or ())
        if data.get("identity_center") is not None:
            data["identity_center"] = IdentityCenter(**data["identity_center"])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def __repr__(self) -> str:  # configuration values may hold secrets
        return f"EnvironmentSpec(name={self.name!r}, airflow_version={self.airflow_version!r})"


def environment_arn(name: str, *, region: str, account: str) -> str:
    return f"arn:aws:airflow:{region}:{account}:environment/{name}"


def bucket_name(source_bucket_arn: str) -> str:
    """`arn:aws:s3:::my-bucket` -> `my-bucket`."""
    return source_bucket_arn.rsplit(":", 1)[-1]
