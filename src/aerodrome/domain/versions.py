"""Which Airflow version an environment may move to in place (MWAA's rules). Pure.

Minor upgrades and downgrades are allowed within 2.x and within 3.x; 2.11.x and 3.x move both ways;
an environment on 2.10 or older goes to 3.x only through the newest 2.11.x; a version past its end of
support cannot be targeted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aerodrome import errors
from aerodrome.domain.spec import SUPPORTED_AIRFLOW_VERSIONS

BRIDGE_MINOR = (2, 11)  # the 2.x line that 3.x moves to and from

# MWAA's Airflow versions (as of its docs, Sept 2026) and whether they reached end of support: the
# table the version rules are tested against (what Aerodrome runs is spec.AIRFLOW_RELEASES)
MWAA_VERSIONS: dict[str, bool] = {
    "1.10.12": True, "2.0.2": True, "2.2.2": True, "2.4.3": True, "2.5.1": True, "2.6.3": True,
    "2.7.2": False, "2.8.1": False, "2.9.2": False, "2.10.1": False, "2.10.3": False,
    "2.11.0": False, "2.11.2": False, "3.0.6": False, "3.2.1": False, "3.3.1": False,
}
MWAA_TABLE = {"available": tuple(MWAA_VERSIONS),
              "end_of_support": frozenset(v for v, ended in MWAA_VERSIONS.items() if ended)}


@dataclass(frozen=True)
class Change:
    current: str
    target: str

    @property
    def upgrade(self) -> bool:
        return parse(self.target) > parse(self.current)


def parse(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise errors.Invalid(f"AirflowVersion {version} is not a version number such as 3.3.2.") from None


def targets(available: tuple[str, ...] = SUPPORTED_AIRFLOW_VERSIONS, *,
            end_of_support: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The versions an environment may be moved to: available and still supported."""
    return tuple(v for v in available if v not in end_of_support)


def problem(current: str, target: str, *, available: tuple[str, ...] = SUPPORTED_AIRFLOW_VERSIONS,
            end_of_support: frozenset[str] = frozenset()) -> str | None:
    """Why an environment on `current` cannot move to `target` in place, or None when it can."""
    if current == target:
        return None
    allowed = targets(available, end_of_support=end_of_support)
    if target not in allowed:
        return (f"AirflowVersion {target} cannot be targeted; choose one of {', '.join(allowed)}.")
    have, want = parse(current), parse(target)
    if have[0] < 2 or want[0] < 2:
        return (f"Airflow {current} cannot be changed in place to {target}; create a new environment on "
                f"{target} and move the DAGs and metadata to it.")
    bridge = newest_bridge(allowed)
    if have[0] == 2 and want[0] == 3 and have[:2] < BRIDGE_MINOR:
        return (f"An environment on Airflow {current} must first be upgraded to {bridge or 'the newest 2.11.x'} "
                f"(then to {target}), or recreated on {target}.")
    if have[0] != want[0] and (have[:2] if have[0] == 2 else want[:2]) != BRIDGE_MINOR:
        return (f"Airflow {current} cannot move to {target} in place: 3.x moves only to and from 2.11.x. "
                f"Move to {bridge or 'the newest 2.11.x'} first.")
    return None


def newest_bridge(allowed: tuple[str, ...]) -> str | None:
    bridges = [v for v in allowed if parse(v)[:2] == BRIDGE_MINOR]
    return max(bridges, key=parse) if bridges else None


def check(current: str, target: str, **table: Any) -> Change | None:
    """The change to make (None: none) or errors.Invalid saying what to do instead."""
    found = problem(current, target, **table)
    if found:
        raise errors.Invalid(found)
    return Change(current, target) if current != target else None
