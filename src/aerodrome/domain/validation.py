"""Business rules of an environment spec beyond the wire model's constraints. Pure."""

from __future__ import annotations

from aerodrome import errors
from aerodrome.domain import classes, teams
from aerodrome.domain.spec import SUPPORTED_AIRFLOW_VERSIONS, EnvironmentSpec

ENVIRONMENT_CLASSES = tuple(classes.CLASSES)
MAX_SCHEDULERS = 5
MAX_WEBSERVERS = 5


def problems(spec: EnvironmentSpec) -> list[str]:
    found = []
    if spec.airflow_version not in SUPPORTED_AIRFLOW_VERSIONS:
        found.append(f"AirflowVersion {spec.airflow_version} is not supported; choose one of "
                     f"{', '.join(SUPPORTED_AIRFLOW_VERSIONS)}.")
    if spec.environment_class not in ENVIRONMENT_CLASSES:
        found.append(f"EnvironmentClass {spec.environment_class} is not valid; choose one of "
                     f"{', '.join(ENVIRONMENT_CLASSES)}.")
    if spec.min_workers > spec.max_workers:
        found.append(f"MinWorkers ({spec.min_workers}) must not be greater than MaxWorkers ({spec.max_workers}).")
    if not 1 <= spec.schedulers <= MAX_SCHEDULERS:
        found.append(f"Schedulers must be between 1 and {MAX_SCHEDULERS}; got {spec.schedulers}.")
    found += classes.class_problems(spec.environment_class, min_workers=spec.min_workers,
                                    max_workers=spec.max_workers, schedulers=spec.schedulers,
                                    min_webservers=spec.min_webservers, max_webservers=spec.max_webservers)
    found += classes.option_problems(spec.airflow_configuration_options)
    for label, value in (("MinWebservers", spec.min_webservers), ("MaxWebservers", spec.max_webservers)):
        if not 1 <= value <= MAX_WEBSERVERS:
            found.append(f"{label} must be between 1 and {MAX_WEBSERVERS}; got {value}.")
    if spec.min_webservers > spec.max_webservers:
        found.append(f"MinWebservers ({spec.min_webservers}) must not be greater than MaxWebservers "
                     f"({spec.max_webservers}).")
    for label, path in (("DagS3Path", spec.dag_s3_path), ("PluginsS3Path", spec.plugins_s3_path),
                        ("RequirementsS3Path", spec.requirements_s3_path),
                        ("StartupScriptS3Path", spec.startup_script_s3_path)):
        if path and (path.startswith("/") or ".." in path.split("/")):
            found.append(f"{label} must be a key inside the bucket (no leading '/' or '..'); got {path}.")
    if len(spec.subnet_ids) not in (0, 2):
        found.append("NetworkConfiguration.SubnetIds must list exactly 2 subnets.")
    found += teams.problems(spec)
    return found


def check(spec: EnvironmentSpec) -> None:
    found = problems(spec)
    if found:
        raise errors.Invalid(" ".join(found))
