"""MWAA's Teams (Airflow's multi-team mode): the rules a spec's teams follow, and UpdateTeamsInput. Pure.

The wire model already checks each name's pattern and length and a map's 1–20 entries; these are the
rules that need the rest of the spec: the Airflow version, IdentityCenterConfiguration, the total
after an update, and DAG folders that must not overlap.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from aerodrome import errors
from aerodrome.domain.spec import EnvironmentSpec, TeamConfig, bucket_name

MAX_TEAMS = 20
# Airflow's multi-team mode came with 3.2 (experimental); MWAA offers Teams on its 3.3 line.
FIRST_VERSION = (3, 3)


def supports_teams(airflow_version: str) -> bool:
    try:
        major, minor = (int(part) for part in airflow_version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= FIRST_VERSION


def problems(spec: EnvironmentSpec) -> list[str]:
    """What is wrong with the spec's teams (nothing when it has none)."""
    if not spec.teams:
        return []
    found = []
    if not supports_teams(spec.airflow_version):
        found.append(f"Teams need Apache Airflow multi-team mode, which Airflow {spec.airflow_version} does not "
                     "have; use AirflowVersion 3.3.1 or later.")
    if spec.identity_center is None:
        found.append("Teams need an IdentityCenterConfiguration: each team name must match the display name of "
                     "a group of the identity provider the environment's people sign in with.")
    for name, team in sorted(spec.teams.items()):
        if team.dag_s3_path.startswith("/") or ".." in team.dag_s3_path.split("/"):
            found.append(f"The DagS3Path of team {name} must be a key inside the bucket (no leading '/' or '..'); "
                         f"got {team.dag_s3_path}.")
    if len(spec.teams) > MAX_TEAMS:
        found.append(f"An environment can have at most {MAX_TEAMS} teams; this one would have {len(spec.teams)}.")
    found += overlap_problems(spec)
    return found


def group_problems(team_names: Iterable[str], known_groups: Collection[str] | None) -> list[str]:
    """Team names that are no group of the identity provider, when the plane knows its groups
    (nothing can be said when it does not)."""
    if known_groups is None:
        return []
    unknown = sorted(set(team_names) - set(known_groups))
    if not unknown:
        return []
    return [f"Team names must match the display name of a group of the identity provider; "
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} no such group."]


def overlap_problems(spec: EnvironmentSpec) -> list[str]:
    """DAG folders that overlap, compared as S3 prefixes (the trailing slash matters), as MWAA does:
    no team folder inside the environment's folder or another team's, nor the environment's inside a team's."""
    folders = [("DagS3Path", TeamConfig(spec.source_bucket_arn, spec.dag_s3_path))]
    folders += [(f"team {name}", team) for name, team in sorted(spec.teams.items())]
    found = []
    for index, (label, folder) in enumerate(folders):
        for other_label, other in folders[index + 1:]:
            if _overlap(folder, other):
                found.append(f"The DAG folders of {label} (s3://{_where(folder)}) and {other_label} "
                             f"(s3://{_where(other)}) overlap; a team's DAG folder cannot be inside the "
                             "environment's DAG folder or another team's, nor contain them.")
    return found


def updated(current: dict[str, TeamConfig], *, add_or_update: dict[str, TeamConfig],
            remove: list[str]) -> dict[str, TeamConfig]:
    """The teams after an UpdateTeamsInput; errors.Invalid for a team both added and removed, or the
    removal of a team the environment does not have."""
    both = sorted(set(add_or_update) & set(remove))
    if both:
        raise errors.Invalid(f"Teams {', '.join(both)} cannot be both in AddOrUpdate and in Remove.")
    missing = sorted(set(remove) - set(current))
    if missing:
        raise errors.Invalid(f"Cannot remove teams {', '.join(missing)}: the environment has no such team "
                             f"(it has {', '.join(sorted(current)) or 'none'}).")
    teams = {name: team for name, team in current.items() if name not in remove}
    teams.update(add_or_update)
    return teams


def retired(current: EnvironmentSpec, teams: dict[str, TeamConfig]) -> tuple[str, ...]:
    """The teams an environment has had and no longer has once its teams are `teams` (a team added
    again is not retired any more)."""
    return tuple(sorted((set(current.retired_teams) | set(current.teams)) - set(teams)))


def _overlap(first: TeamConfig, second: TeamConfig) -> bool:
    if bucket_name(first.source_bucket_arn) != bucket_name(second.source_bucket_arn):
        return False
    a, b = _prefix(first.dag_s3_path), _prefix(second.dag_s3_path)
    return a.startswith(b) or b.startswith(a)


def _prefix(path: str) -> str:
    return path.lstrip("/")  # a leading "/" is refused above; compare what it would name


def _where(folder: TeamConfig) -> str:
    return f"{bucket_name(folder.source_bucket_arn)}/{_prefix(folder.dag_s3_path)}"
