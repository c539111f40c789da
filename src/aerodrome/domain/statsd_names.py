"""Airflow's StatsD metric names -> MWAA's CloudWatch names and dimensions in the `AmazonMWAA`
namespace (as MWAA's metrics page lists them). Pure.

A name no rule knows keeps its words, CamelCased (`scheduler.tasks.starving` -> `SchedulerTasksStarving`),
with no dimension beyond the environment's, so nothing Airflow sends is lost.
"""

from __future__ import annotations

import re

# (pattern on Airflow's name without its prefix, CloudWatch name, dimensions from groups or constants)
_RULES: list[tuple[re.Pattern[str], str, dict[str, str]]] = [(re.compile(p), n, d) for p, n, d in (
    (r"^scheduler_heartbeat$", "SchedulerHeartbeat", {"Function": "Scheduler"}),
    (r"^triggerer_heartbeat$", "TriggererHeartbeat", {"Function": "Triggerer"}),
    (r"^celery_worker_heartbeat$", "CeleryWorkerHeartbeat", {"Function": "Celery"}),
    (r"^executor\.open_slots(?:\.\w+)?$", "OpenSlots", {"Function": "Executor"}),
    (r"^executor\.queued_tasks(?:\.\w+)?$", "QueuedTasks", {"Function": "Executor"}),
    (r"^executor\.running_tasks(?:\.\w+)?$", "RunningTasks", {"Function": "Executor"}),
    (r"^dagbag_size$", "DagBagSize", {"Function": "DAG Processing"}),
    (r"^dag_processing\.import_errors$", "ImportErrors", {"Function": "DAG Processing"}),
    (r"^dag_processing\.total_parse_time$", "TotalParseTime", {"Function": "DAG Processing"}),
    (r"^dag_processing\.processes$", "Processes", {"Function": "DAG Processing"}),
    (r"^dag_processing\.last_duration\.(?P<file>.+)$", "DAGFileProcessingLastDuration",
     {"DAG Filename": "{file}"}),
    (r"^dag_processing\.last_run\.seconds_ago\.(?P<file>.+)$", "DAGFileProcessingLastRunSecondsAgo",
     {"DAG Filename": "{file}"}),
    (r"^ti_successes$", "TaskInstanceSuccesses", {"Function": "Executor"}),
    (r"^ti_failures$", "TaskInstanceFailures", {"Function": "Executor"}),
    (r"^zombies_killed$", "ZombiesKilled", {"Function": "Scheduler"}),
    (r"^scheduler\.tasks\.starving$", "TasksStarving", {"Function": "Scheduler"}),
    (r"^scheduler\.tasks\.executable$", "TasksExecutable", {"Function": "Scheduler"}),
    (r"^scheduler\.critical_section_duration$", "CriticalSectionDuration", {"Function": "Scheduler"}),
    (r"^scheduler\.scheduler_loop_duration$", "SchedulerLoopDuration", {"Function": "Scheduler"}),
    (r"^triggers\.running(?:\.[\w.-]+)?$", "TriggersRunning", {"Function": "Triggerer"}),
    (r"^triggers\.succeeded$", "TriggersSucceeded", {"Function": "Triggerer"}),
    (r"^triggers\.failed$", "TriggersFailed", {"Function": "Triggerer"}),
    (r"^pool\.open_slots\.(?P<pool>.+)$", "PoolOpenSlots", {"Pool": "{pool}"}),
    (r"^pool\.queued_slots\.(?P<pool>.+)$", "PoolQueuedSlots", {"Pool": "{pool}"}),
    (r"^pool\.running_slots\.(?P<pool>.+)$", "PoolRunningSlots", {"Pool": "{pool}"}),
    (r"^pool\.deferred_slots\.(?P<pool>.+)$", "PoolDeferredSlots", {"Pool": "{pool}"}),
    (r"^pool\.starving_tasks\.(?P<pool>.+)$", "PoolStarvingTasks", {"Pool": "{pool}"}),
    (r"^dagrun\.duration\.success\.(?P<dag>[^.]+)$", "DAGDurationSuccess", {"DAG": "{dag}"}),
    (r"^dagrun\.duration\.failed\.(?P<dag>[^.]+)$", "DAGDurationFailed", {"DAG": "{dag}"}),
    (r"^dagrun\.schedule_delay\.(?P<dag>[^.]+)$", "DAGScheduleDelay", {"DAG": "{dag}"}),
    (r"^dagrun\.dependency-check\.(?P<dag>[^.]+)$", "DAGDependencyCheck", {"DAG": "{dag}"}),
    (r"^dag\.(?P<dag>[^.]+)\.(?P<task>[^.]+)\.duration$", "TaskInstanceDuration",
     {"DAG": "{dag}", "Task": "{task}"}),
    (r"^dag\.(?P<dag>[^.]+)\.(?P<task>[^.]+)\.queued_duration$", "TaskInstanceQueuedDuration",
     {"DAG": "{dag}", "Task": "{task}"}),
    (r"^ti\.finish\.(?P<dag>[^.]+)\.(?P<task>[^.]+)\.(?P<state>\w+)$", "TaskInstanceFinished",
     {"DAG": "{dag}", "Task": "{task}", "State": "{state}"}),
    (r"^ti\.start\.(?P<dag>[^.]+)\.(?P<task>[^.]+)$", "TaskInstanceStarted", {"DAG": "{dag}", "Task": "{task}"}),
    (r"^operator_successes_(?P<operator>\w+)$", "OperatorSuccesses", {"Operator": "{operator}"}),
    (r"^operator_failures_(?P<operator>\w+)$", "OperatorFailures", {"Operator": "{operator}"}),
    (r"^(?P<job>\w+)_start$", "JobStart", {"Job": "{job}"}),
    (r"^(?P<job>\w+)_end$", "JobEnd", {"Job": "{job}"}),
)]


def to_cloudwatch(name: str) -> tuple[str, dict[str, str]]:
    """(CloudWatch metric name, dimensions) for an Airflow metric name without its prefix."""
    for pattern, metric, dimensions in _RULES:
        found = pattern.match(name)
        if found:
            return metric, {k: v.format(**found.groupdict()) for k, v in dimensions.items()}
    words = re.split(r"[._\-]+", name)
    return "".join(w[:1].upper() + w[1:] for w in words if w) or "Unnamed", {}
