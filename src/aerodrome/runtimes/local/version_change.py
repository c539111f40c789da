"""A version change on the local runtime: ready the tools before anything stops, change the stopped
environment's schema (`schema.py`), and read what the new version's DAG processor parsed."""

from __future__ import annotations

from pathlib import Path

from aerodrome.domain.placement import Placement
from aerodrome.runtimes.base import ParseReport, Progress
from aerodrome.runtimes.local import files, schema
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.runtimes.local.versions_ready import ReadyVersions


class LocalVersionChange:
    def __init__(self, *, postgres: Postgres, versions: ReadyVersions, venvs_dir: Path):
        self._postgres = postgres
        self._versions = versions
        self._venvs_dir = venvs_dir

    def prepare(self, current: str, target: str, *, progress: Progress | None = None) -> None:
        current_venv, _ = self._versions.get(current, progress)
        schema.tools(current=current, target=target, current_venv=current_venv, venvs_dir=self._venvs_dir,
                     progress=progress)

    def change_schema(self, current: str, target: str, placement: Placement, *, log: Path) -> None:
        (current_venv, _), (target_venv, _) = self._versions.get(current), self._versions.get(target)
        database = f"env_{placement.env_id}"
        url = self._postgres.url(database, user=database,
                                 password=files.secret(placement.root / "secrets" / "db.secret"))
        extra = schema.tools(current=current, target=target, current_venv=current_venv, venvs_dir=self._venvs_dir)
        schema.change(current=current, target=target, current_venv=current_venv, target_venv=target_venv,
                      database_url=url, log=log, extra_path=extra,
                      sql=lambda statement: self._postgres.sql(f"SET ROLE {database}; {statement}",
                                                               database=database))
        schema.set_aside_config(placement.root / "airflow_home", f"airflow-{current}")

    def parse_report(self, placement: Placement, *, since: float) -> ParseReport:
        self._postgres.ensure_running()
        return schema.parse_report(lambda sql: self._postgres.sql(sql, database=f"env_{placement.env_id}"),
                                   dags_dir=placement.dags_dir, since=since)
