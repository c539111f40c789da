"""MWAA wire members <-> domain objects. The only place that knows both vocabularies."""

from __future__ import annotations

from typing import Any

from aerodrome.domain import classes
from aerodrome.domain.environment import EnvironmentView
from aerodrome.domain.spec import EnvironmentSpec, IdentityCenter, ModuleLogging, TeamConfig

# wire member -> EnvironmentSpec field, for members that map one to one
SIMPLE = {
    "ExecutionRoleArn": "execution_role_arn",
    "SourceBucketArn": "source_bucket_arn",
    "DagS3Path": "dag_s3_path",
    "AirflowVersion": "airflow_version",
    "EnvironmentClass": "environment_class",
    "MaxWorkers": "max_workers",
    "MinWorkers": "min_workers",
    "Schedulers": "schedulers",
    "MinWebservers": "min_webservers",
    "MaxWebservers": "max_webservers",
    "PluginsS3Path": "plugins_s3_path",
    "PluginsS3ObjectVersion": "plugins_s3_object_version",
    "RequirementsS3Path": "requirements_s3_path",
    "RequirementsS3ObjectVersion": "requirements_s3_object_version",
    "StartupScriptS3Path": "startup_script_s3_path",
    "StartupScriptS3ObjectVersion": "startup_script_s3_object_version",
    "WebserverAccessMode": "webserver_access_mode",
    "WeeklyMaintenanceWindowStart": "weekly_maintenance_window_start",
    "KmsKey": "kms_key",
    "EndpointManagement": "endpoint_management",
    "WorkerReplacementStrategy": "worker_replacement_strategy",
}


def changes_from_wire(members: dict) -> dict[str, Any]:
    """EnvironmentSpec field changes for the members a caller sent (absent means unchanged)."""
    changes: dict[str, Any] = {SIMPLE[k]: v for k, v in members.items() if k in SIMPLE}
    if "AirflowConfigurationOptions" in members:
        changes["airflow_configuration_options"] = dict(members["AirflowConfigurationOptions"])
    network = members.get("NetworkConfiguration") or {}
    if "SubnetIds" in network:
        changes["subnet_ids"] = tuple(network["SubnetIds"])
    if "SecurityGroupIds" in network:
        changes["security_group_ids"] = tuple(network["SecurityGroupIds"])
    if "LoggingConfiguration" in members:
        changes["logging"] = {
            log_type: ModuleLogging(enabled=item["Enabled"], log_level=item["LogLevel"])
            for log_type, item in members["LoggingConfiguration"].items()
        }
    if "IdentityCenterConfiguration" in members:
        identity = members["IdentityCenterConfiguration"]
        changes["identity_center"] = IdentityCenter(start_url=identity.get("StartUrl"),
                                                    identity_store_id=identity.get("IdentityStoreId"))
    return changes


def teams_from_wire(team_map: dict) -> dict[str, TeamConfig]:
    """A TeamMap (team name -> {SourceBucketArn, DagS3Path}) as the spec's teams."""
    return {name: TeamConfig(source_bucket_arn=team["SourceBucketArn"], dag_s3_path=team["DagS3Path"])
            for name, team in team_map.items()}


def teams_to_wire(teams: dict[str, TeamConfig]) -> dict:
    return {name: {"SourceBucketArn": team.source_bucket_arn, "DagS3Path": team.dag_s3_path}
            for name, team in teams.items()}


def spec_from_wire(name: str, members: dict) -> EnvironmentSpec:
    changes = changes_from_wire(members)
    if members.get("Teams"):
        changes["teams"] = teams_from_wire(members["Teams"])
    required = {k: changes.pop(k) for k in ("execution_role_arn", "source_bucket_arn", "dag_s3_path")}
    sizing = classes.CLASSES.get(str(changes.get("environment_class", "mw1.small")))
    if sizing and "max_workers" not in changes:  # MWAA's default of 10, within what the class allows
        changes["max_workers"] = min(10, sizing.max_workers)
    return EnvironmentSpec(name=name, **required, **changes)


def environment_to_wire(view: EnvironmentView) -> dict:
    spec = view.spec
    out: dict[str, object] = {
        "Name": spec.name,
        "Status": view.status.value,
        "Arn": view.arn,
        "CreatedAt": view.created_at,
        "WebserverUrl": view.webserver_url,
        "ServiceRoleArn": view.service_role_arn,
        "CeleryExecutorQueue": view.celery_executor_queue,
        "DatabaseVpcEndpointService": view.database_vpc_endpoint_service,
        "WebserverVpcEndpointService": view.webserver_vpc_endpoint_service,
        "Tags": dict(view.tags),
        "AirflowConfigurationOptions": dict(spec.airflow_configuration_options),
        "NetworkConfiguration": {"SubnetIds": list(spec.subnet_ids), "SecurityGroupIds": list(spec.security_group_ids)},
        "LoggingConfiguration": _logging(view),
        "LastUpdate": _last_update(view),
    }
    for member, field in SIMPLE.items():
        if member != "WorkerReplacementStrategy":
            out[member] = getattr(spec, field)
    if spec.teams:
        out["Teams"] = teams_to_wire(spec.teams)
    if spec.identity_center is not None:
        identity = {"StartUrl": spec.identity_center.start_url,
                    "IdentityStoreId": spec.identity_center.identity_store_id}
        out["IdentityCenterConfiguration"] = {k: v for k, v in identity.items() if v is not None}
    return {k: v for k, v in out.items() if v is not None}


def _logging(view: EnvironmentView) -> dict:
    out = {}
    for log_type, arn in view.log_group_arns.items():
        setting = view.spec.logging.get(log_type, ModuleLogging())
        item = {"Enabled": setting.enabled, "LogLevel": setting.log_level}
        if setting.enabled:
            item["CloudWatchLogGroupArn"] = arn
        out[log_type] = item
    return out


def _last_update(view: EnvironmentView) -> dict:
    last = view.last_update
    out: dict[str, object] = {"Status": last.status, "CreatedAt": last.created_at, "Source": last.source}
    if last.error_code or last.error_message:
        out["Error"] = {"ErrorCode": last.error_code or "", "ErrorMessage": last.error_message or ""}
    if last.worker_replacement_strategy:
        out["WorkerReplacementStrategy"] = last.worker_replacement_strategy
    return out
