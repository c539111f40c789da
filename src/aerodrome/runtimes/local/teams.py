"""Airflow's multi-team mode for an environment with Teams (Airflow 3.3+).

Each team's DAG folder (synced from its bucket prefix into `team_dags/<team>/`) is a dag bundle of its
own that Airflow associates with the team; the environment's DagS3Path stays the global `dags-folder`
bundle. The teams must exist in Airflow's database before the dag-processor reads the bundle list, so
`ensure` runs `airflow teams sync` (which creates the teams the bundle list names) before anything
starts. A removed team (the spec's `retired_teams`) keeps its bundle, over an empty folder: its DAGs
go stale but stay the team's, so their runs and code are never shown to another team's people (a
bundle leaving the list would lose its team and its DAGs would become everyone's). The team's row stays
in Airflow's database, with its variables and connections, owned by nobody a token names.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from aerodrome import errors
from aerodrome.domain import teams
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import processes

# runs `airflow ARGS` with the environment's configuration (CliBridge.run bound to a spec and placement)
Airflow = Callable[..., subprocess.CompletedProcess[str]]

LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
GLOBAL_BUNDLE = "dags-folder"  # Airflow's default bundle: the DAG folder of DagS3Path
TEAM_BUNDLE_PREFIX = "team-"  # so no team's bundle is ever named like the global one


def enabled(spec: EnvironmentSpec) -> bool:
    """Multi-team mode: while the environment has teams, or had some (their DAGs stay theirs)."""
    return bool(spec.teams or spec.retired_teams) and teams.supports_teams(spec.airflow_version)


def _owned(spec: EnvironmentSpec) -> list[str]:
    """Every team with a bundle: the spec's, and the retired ones (an empty folder each)."""
    return sorted(set(spec.teams) | set(spec.retired_teams))


def bundle_name(team: str) -> str:
    return TEAM_BUNDLE_PREFIX + team


def airflow_variables(spec: EnvironmentSpec, placement: Placement) -> dict[str, str]:
    """The variables that turn multi-team mode on with one bundle per team (none without teams)."""
    if not enabled(spec):
        return {}
    bundles: list[dict[str, object]] = [{"name": GLOBAL_BUNDLE, "classpath": LOCAL_BUNDLE, "kwargs": {}}]
    bundles += [{"name": bundle_name(team), "classpath": LOCAL_BUNDLE, "team_name": team,
                 "kwargs": {"path": str(placement.team_dags_dir(team))}} for team in _owned(spec)]
    return {"AIRFLOW__CORE__MULTI_TEAM": "True",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles)}


def ensure(airflow: Airflow, spec: EnvironmentSpec, placement: Placement) -> None:
    """Create in Airflow's database the teams the spec has and it lacks (idempotent)."""
    if not enabled(spec):
        return
    for team in _owned(spec):
        placement.team_dags_dir(team).mkdir(parents=True, exist_ok=True)
    done = airflow("teams", "sync")
    if done.returncode != 0:
        raise errors.Temporary(f"Creating the teams of {spec.name} in Airflow failed: "
                               f"{done.stderr.strip()[-processes.LOG_TAIL:]}")
