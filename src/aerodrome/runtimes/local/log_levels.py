"""LoggingConfiguration's levels, applied as each component's Airflow logging level."""

from __future__ import annotations

from aerodrome.domain.spec import EnvironmentSpec

# MWAA component -> the log type (LoggingConfiguration member) its own output belongs to; the
# triggerer runs in MWAA's scheduler container, so it logs with the scheduler.
LOG_TYPE = {"scheduler": "SchedulerLogs", "triggerer": "SchedulerLogs", "dag-processor": "DagProcessingLogs",
            "webserver": "WebserverLogs", "worker": "WorkerLogs"}


def level_env(spec: EnvironmentSpec, component: str) -> dict[str, str]:
    """AIRFLOW__LOGGING__LOGGING_LEVEL for `component` when its log type is enabled with a level
    (a logging.logging_level AirflowConfigurationOption wins)."""
    setting = spec.logging.get(LOG_TYPE.get(component, ""))
    if setting is None or not setting.enabled or "logging.logging_level" in spec.airflow_configuration_options:
        return {}
    return {"AIRFLOW__LOGGING__LOGGING_LEVEL": setting.log_level}
