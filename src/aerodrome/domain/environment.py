"""What the store knows of an environment, as plain data the API layer turns into MWAA shapes."""

from __future__ import annotations

from dataclasses import dataclass, field

from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import Status


@dataclass(frozen=True)
class LastUpdate:
    status: str  # SUCCESS | PENDING | FAILED
    created_at: float  # epoch seconds
    source: str = "USER"  # USER, or a system source such as "AERODROME"
    error_code: str | None = None
    error_message: str | None = None
    worker_replacement_strategy: str | None = None


@dataclass(frozen=True)
class EnvironmentView:
    spec: EnvironmentSpec
    status: Status
    arn: str
    created_at: float
    last_update: LastUpdate
    webserver_url: str | None = None  # bare host[:port], as MWAA returns a hostname
    celery_executor_queue: str | None = None
    database_vpc_endpoint_service: str | None = None
    webserver_vpc_endpoint_service: str | None = None
    service_role_arn: str | None = None
    log_group_arns: dict[str, str] = field(default_factory=dict)  # "TaskLogs" -> arn
    tags: dict[str, str] = field(default_factory=dict)
