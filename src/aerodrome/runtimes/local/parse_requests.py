"""Tell an environment's dag-processor that a sync changed DAG files, instead of having it rescan often.

Airflow keeps a table of files to parse first (`dag_priority_parsing_request`, what its "reparse"
button writes). The dag-processor reads it once a second: Airflow 3 parses each named file next and
refreshes the file's bundle at once, so new and removed files are seen then too, not only every
`dag_processor.refresh_interval`; Airflow 2 parses each named file next (new files included), and
its folder listing (`scheduler.dag_dir_list_interval`) finds removed ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import airflow_env, teams
from aerodrome.runtimes.local.queries import Queries

DAG_SUFFIXES = (".py", ".zip")


def request(queries: Queries, spec: EnvironmentSpec, placement: Placement, *, team: str | None,
            changed: Iterable[str], removed: Iterable[str]) -> int:
    """Ask for `changed` (and, on Airflow 3, `removed`: it refreshes the bundle) files of the DAG folder
    (a team's with `team`) to be parsed now; how many requests were written."""
    changed = sorted(path for path in changed if path.endswith(DAG_SUFFIXES))
    removed = sorted(path for path in removed if path.endswith(DAG_SUFFIXES))
    if airflow_env.is_airflow3(spec.airflow_version):
        bundle = teams.bundle_name(team) if team else teams.GLOBAL_BUNDLE
        paths = changed or removed[:1]  # one request is enough for a refresh that sees what went
        for path in paths:
            queries.rows(placement.env_id,
                         "INSERT INTO dag_priority_parsing_request (id, bundle_name, relative_fileloc) "
                         "VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
                         (_md5(f"{bundle}:{path}"), bundle, path))
        return len(paths)
    if team is not None:
        return 0
    for path in changed:
        fileloc = str(placement.dags_dir / path)
        queries.rows(placement.env_id, "INSERT INTO dag_priority_parsing_request (id, fileloc) VALUES (%s, %s) "
                     "ON CONFLICT (id) DO NOTHING", (_md5(fileloc), fileloc))
    return len(changed)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()  # Airflow's own key for the row
