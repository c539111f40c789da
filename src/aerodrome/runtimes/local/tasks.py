"""How many task instances an environment has queued or running, whether triggers wait, and what idle
sleep asks (work, the next scheduled run): one query each on its database, over the connection
`queries.Queries` keeps."""

from __future__ import annotations

from aerodrome.domain.idle_sleep import RunFacts
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import airflow_env
from aerodrome.runtimes.local.queries import Queries

# task instance states between "the scheduler means to run it" and done
ACTIVE_STATES = ", ".join(f"'{state}'" for state in ("scheduled", "queued", "running", "deferred", "up_for_retry",
                                                      "up_for_reschedule", "restarting"))


class TaskCounts:
    def __init__(self, queries: Queries):
        self._queries = queries

    def active(self, placement: Placement) -> int:
        queued, running = self.queued_running(placement)
        return queued + running

    def queued_running(self, placement: Placement) -> tuple[int, int]:
        rows = self._queries.rows(placement.env_id, "SELECT count(*) FILTER (WHERE state = 'queued'), "
                                  "count(*) FILTER (WHERE state = 'running') FROM task_instance "
                                  "WHERE state IN ('queued', 'running')")
        queued, running = rows[0] if rows else (0, 0)
        return int(queued or 0), int(running or 0)

    def has_triggers(self, placement: Placement) -> bool:
        """Whether a trigger waits for a triggerer (a deferred task's, an asset watcher's, a deadline's)."""
        rows = self._queries.rows(placement.env_id, "SELECT EXISTS (SELECT 1 FROM trigger)")
        return bool(rows and rows[0][0])

    def run_facts(self, spec: EnvironmentSpec, placement: Placement) -> RunFacts:
        """Work running or waiting, the next scheduled run and watched assets: what idle sleep needs."""
        airflow3 = airflow_env.is_airflow3(spec.airflow_version)
        current = "NOT is_stale" if airflow3 else "is_active"
        watched = "EXISTS (SELECT 1 FROM asset_watcher)" if airflow3 else "false"
        rows = self._queries.rows(
            placement.env_id,
            "SELECT EXISTS (SELECT 1 FROM dag_run WHERE state IN ('queued', 'running')) "
            f"OR EXISTS (SELECT 1 FROM task_instance WHERE state IN ({ACTIVE_STATES})), "
            "(SELECT extract(epoch FROM min(next_dagrun_create_after)) FROM dag "
            f"WHERE NOT is_paused AND {current} AND next_dagrun_create_after IS NOT NULL), {watched}")
        busy, next_run, assets = rows[0]
        return RunFacts(busy=bool(busy), next_run=float(next_run) if next_run is not None else None,
                        watched_assets=bool(assets))
