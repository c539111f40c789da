"""How many task instances an environment has queued or running: one query on its database."""

from __future__ import annotations

from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local.postgres import Postgres


class TaskCounts:
    def __init__(self, postgres: Postgres):
        self._postgres = postgres

    def active(self, placement: Placement) -> int:
        self._postgres.ensure_running()
        count = self._postgres.sql("SELECT count(*) FROM task_instance WHERE state IN ('queued', 'running')",
                                   database=f"env_{placement.env_id}")
        return int(count or 0)

    def queued_running(self, placement: Placement) -> tuple[int, int]:
        self._postgres.ensure_running()
        counts = self._postgres.sql("SELECT count(*) FILTER (WHERE state = 'queued'), "
                                    "count(*) FILTER (WHERE state = 'running') FROM task_instance "
                                    "WHERE state IN ('queued', 'running')", database=f"env_{placement.env_id}")
        queued, _, running = (counts or "0|0").partition("|")
        return int(queued or 0), int(running or 0)
