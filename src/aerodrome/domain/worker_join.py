"""What a joined remote worker host is told and may read, decided purely.

A host learns the part of its environment's spec its Celery workers run with (`worker_spec`): the
Airflow version and class, the configuration options, the DAG prefix and the pinned plugins,
requirements and startup script. It may read from the environment's bucket only the objects under
the DAG prefix and those pinned files (`readable`), nothing of another environment's.

This slice runs Celery workers of Airflow 3 environments: their tasks reach the api-server's
Execution API through the environment's HTTPS web endpoint and need no database. Airflow 2 workers
need the metadata database, multi-team environments more than one DAG bundle, and hosts elsewhere
an endpoint that does not listen on loopback only (`refusal`).
"""

from __future__ import annotations

from aerodrome.domain.spec import EnvironmentSpec

# the spec's members a host is given, by their MWAA names
_MEMBERS = {
    "AirflowVersion": "airflow_version", "EnvironmentClass": "environment_class",
    "SourceBucketArn": "source_bucket_arn", "DagS3Path": "dag_s3_path",
    "PluginsS3Path": "plugins_s3_path", "PluginsS3ObjectVersion": "plugins_s3_object_version",
    "RequirementsS3Path": "requirements_s3_path", "RequirementsS3ObjectVersion": "requirements_s3_object_version",
    "StartupScriptS3Path": "startup_script_s3_path",
    "StartupScriptS3ObjectVersion": "startup_script_s3_object_version",
    "AirflowConfigurationOptions": "airflow_configuration_options",
}


LOOPBACK = frozenset({None, "", "127.0.0.1", "localhost", "::1"})


def refusal(spec: EnvironmentSpec, *, worker_address: str | None = None) -> str | None:
    """Why no remote worker host can join `spec`'s environment yet, or None when one can.
    `worker_address`: where the broker doors listen (loopback when None)."""
    if int(spec.airflow_version.split(".")[0]) < 3:
        return (f"Environment {spec.name} runs Airflow {spec.airflow_version}; remote worker hosts join "
                "Airflow 3 environments so far (Airflow 2 workers need the metadata database).")
    if spec.teams or spec.retired_teams:
        return f"Environment {spec.name} has teams; remote worker hosts cannot join multi-team environments yet."
    if worker_address not in LOOPBACK and spec.webserver_access_mode == "PRIVATE_ONLY":
        return (f"Environment {spec.name} is PRIVATE_ONLY: its web endpoint, through which tasks reach the "
                "Execution API, listens on this host's loopback only. Make it PUBLIC_ONLY to let other hosts join.")
    return None


def worker_spec(spec: EnvironmentSpec) -> dict:
    """The members of `spec` a host's workers run with (`from_worker_spec` reads them back)."""
    return {member: getattr(spec, field) for member, field in _MEMBERS.items()}


def from_worker_spec(name: str, members: dict) -> EnvironmentSpec:
    """The spec a host rebuilds from what it was told (its other members keep their defaults)."""
    known = {field: members[member] for member, field in _MEMBERS.items() if member in members}
    known["airflow_configuration_options"] = dict(known.get("airflow_configuration_options") or {})
    return EnvironmentSpec(name=name, execution_role_arn="", **known)


def dag_prefix(spec: EnvironmentSpec) -> str:
    """"dags", "/dags/" -> "dags/"; "" -> "" (the whole bucket)."""
    stripped = spec.dag_s3_path.strip("/")
    return f"{stripped}/" if stripped else ""


def readable(spec: EnvironmentSpec, key: str) -> bool:
    """Whether a host of `spec`'s environment may read object `key` of its bucket."""
    pinned = {spec.plugins_s3_path, spec.requirements_s3_path, spec.startup_script_s3_path} - {None, ""}
    return key in pinned or (key.startswith(dag_prefix(spec)) and not key.endswith("/"))
