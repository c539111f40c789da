"""The environment spec: what a user asked for, in domain terms (snake_case, typed)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DEFAULT_AIRFLOW_VERSION = "3.3.2"
SUPPORTED_AIRFLOW_VERSIONS = ("3.3.2", "2.11.2")
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

LOG_TYPES = ("DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs")


@dataclass(frozen=True)
class ModuleLogging:
    enabled: bool = False
    log_level: str = "INFO"


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

    def replace(self, **changes: Any) -> EnvironmentSpec:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["subnet_ids"] = list(self.subnet_ids)
        data["security_group_ids"] = list(self.security_group_ids)
        return data

    @classmethod
    def from_json(cls, data: dict) -> EnvironmentSpec:
        data = dict(data)
        data["subnet_ids"] = tuple(data.get("subnet_ids", ()))
        data["security_group_ids"] = tuple(data.get("security_group_ids", ()))
        data["logging"] = {k: ModuleLogging(**v) for k, v in data.get("logging", {}).items()}
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def __repr__(self) -> str:  # configuration values may hold secrets
        return f"EnvironmentSpec(name={self.name!r}, airflow_version={self.airflow_version!r})"


def environment_arn(name: str, *, region: str, account: str) -> str:
    return f"arn:aws:airflow:{region}:{account}:environment/{name}"


def bucket_name(source_bucket_arn: str) -> str:
    """`arn:aws:s3:::my-bucket` -> `my-bucket`."""
    return source_bucket_arn.rsplit(":", 1)[-1]
