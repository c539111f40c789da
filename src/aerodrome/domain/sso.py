"""Single sign-on rules: the Airflow role a person's identity-provider groups give in an environment,
the environment's teams they belong to, and the group list read out of an ID token. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from aerodrome import errors

# Strongest first: a person in several mapped groups gets the strongest of their roles.
ROLES = ("Admin", "Op", "User", "Viewer")
EVERY_ENVIRONMENT = "*"

RoleMap = Mapping[str, Mapping[str, str]]  # environment name or "*" -> {group: role}


def parse_role_map(text: str) -> dict[str, dict[str, str]]:
    """The group -> role table of the settings: JSON `{"*": {"airflow-admins": "Admin"},
    "prod": {"data-eng": "Op"}}`, where `*` holds for every environment and a named environment's
    entries override it. ValueError, saying what is wrong, for anything else."""
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"The SSO role map is not JSON: {exc}") from None
    if not isinstance(table, dict):
        raise ValueError('The SSO role map is a JSON object such as {"*": {"airflow-admins": "Admin"}}.')
    for environment, groups in table.items():
        if not isinstance(groups, dict):
            raise ValueError(f"The SSO role map's entry for {environment!r} must map group names to roles.")
        for group, role in groups.items():
            if role not in ROLES:
                raise ValueError(f"The SSO role map gives group {group!r} the role {role!r} in {environment!r}; "
                                 f"roles are {', '.join(ROLES)}.")
    return table


def role_for(groups: Iterable[str], role_map: RoleMap, environment: str) -> str | None:
    """The strongest role `groups` are given in `environment`, None when no group is mapped."""
    table = {**role_map.get(EVERY_ENVIRONMENT, {}), **role_map.get(environment, {})}
    given = {table[group] for group in groups if group in table}
    return next((role for role in ROLES if role in given), None)


def parse_principal_map(text: str) -> dict[str, str]:
    """The groups -> Aerodrome principal table of the settings: JSON `{"platform-admins": "admin"}`.
    A signed-in person acts on the control plane (the console) as the principal of the first of
    their groups in the table, with that principal's policies."""
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"The SSO principal map is not JSON: {exc}") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) and v for v in table.values()):
        raise ValueError('The SSO principal map is a JSON object of group -> principal, such as '
                         '{"platform-admins": "admin"}.')
    return table


def principal_for(groups: Iterable[str], principal_map: Mapping[str, str]) -> str | None:
    """The principal a person with `groups` acts as on the control plane: the first of the map's
    groups they are in; None when they are in none."""
    mine = set(groups)
    return next((principal for group, principal in principal_map.items() if group in mine), None)


def teams_for(groups: Iterable[str], team_names: Iterable[str]) -> list[str]:
    """The environment's teams a person belongs to: a team's name is its identity-provider group's
    display name, as on MWAA."""
    return sorted(set(groups) & set(team_names))


def groups_of(claims: Mapping[str, object], claim: str) -> list[str]:
    """The group names an ID token carries under `claim` (a dotted path such as
    `realm_access.roles` reaches into nested objects); errors.AccessDenied when it is missing."""
    value: object = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(group, str) for group in value):
        return list(value)
    raise errors.AccessDenied(
        f"Your identity provider sent no '{claim}' claim in the ID token, so Aerodrome cannot tell which "
        f"groups you are in. Ask its administrator to add the groups claim to the ID token for this client.")
