"""IAM-style policy evaluation, pure: Allow/Deny statements over `airflow:*` and `aerodrome:*` actions and ARNs.

Explicit deny wins, then any allow, otherwise the request is denied by default. `*` and `?` are
wildcards in actions (case-insensitive, as IAM) and in resources (case-sensitive).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aerodrome import errors

# Airflow roles MWAA grants through role resources, strongest first.
AIRFLOW_ROLES = ("Admin", "Op", "User", "Viewer", "Public")
_KEYS = {"Sid", "Effect", "Action", "Resource"}


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def parse(document: str | dict) -> tuple[Statement, ...]:
    """Check a policy document and return its statements; raises Invalid saying what is wrong."""
    return tuple(_statement(item, index) for index, item in enumerate(_raw_statements(document)))


def parse_trust(document: str | dict, *, account: str) -> tuple[Statement, ...]:
    """A role's trust rule, IAM's shape: {"Statement": [{"Effect", "Action": "sts:AssumeRole",
    "Principal": {"AWS": ARN patterns} or "*"}]}. The principal ARNs become the statements'
    resources; an account id or `arn:aws:iam::ACCOUNT:root` stands for every principal of it."""
    found = []
    for index, item in enumerate(_raw_statements(document)):
        where = f"Statement {index + 1}"
        if not isinstance(item, dict) or "Principal" not in item:
            raise errors.Invalid(f'{where} of a trust rule must be a JSON object with a "Principal".')
        who = item["Principal"]
        who = who.get("AWS") if isinstance(who, dict) and set(who) == {"AWS"} else who
        rest = {k: v for k, v in item.items() if k != "Principal"}
        names = _strings({"Principal": who}, "Principal", where)
        statement = _statement({**rest, "Resource": "*"}, index)
        found.append(Statement(statement.effect, statement.actions,
                               tuple(f"arn:aws:*::{account}:*" if n in (account, f"arn:aws:iam::{account}:root")
                                     else n for n in names)))
    return tuple(found)


def trusts(statements: Sequence[Statement], caller_arns: Sequence[str]) -> bool:
    """Whether a trust rule lets a caller known by any of `caller_arns` assume the role."""
    decisions = {decide(statements, "sts:AssumeRole", arn) for arn in caller_arns}
    return "Deny" not in decisions and "Allow" in decisions


def _raw_statements(document: str | dict) -> list:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            raise errors.Invalid("The policy document is not valid JSON.") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise errors.Invalid('A policy document is a JSON object with a "Statement" list.')
    raw = document["Statement"]
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list) or not raw:
        raise errors.Invalid('"Statement" must be a statement object or a non-empty list of them.')
    return raw


def _statement(item: object, index: int) -> Statement:
    where = f"Statement {index + 1}"
    if not isinstance(item, dict):
        raise errors.Invalid(f"{where} must be a JSON object.")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise errors.Invalid(f"{where} has unsupported keys {', '.join(unknown)}; "
                             f"supported: {', '.join(sorted(_KEYS))}.")
    if item.get("Effect") not in ("Allow", "Deny"):
        raise errors.Invalid(f'{where}: "Effect" must be "Allow" or "Deny".')
    return Statement(item["Effect"], _strings(item, "Action", where), _strings(item, "Resource", where))


def _strings(item: dict, key: str, where: str) -> tuple[str, ...]:
    value = item.get(key)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise errors.Invalid(f'{where}: "{key}" must be a string or a non-empty list of strings.')
    return tuple(values)


def decide(statements: Sequence[Statement], action: str, resource: str) -> str:
    """"Deny" (explicit), "Allow", or "ImplicitDeny" (nothing matched)."""
    allowed = False
    for statement in statements:
        if any(_match(p, action, fold=True) for p in statement.actions) and \
                any(_match(p, resource, fold=False) for p in statement.resources):
            if statement.effect == "Deny":
                return "Deny"
            allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def is_allowed(statements: Sequence[Statement], action: str, resource: str) -> bool:
    return decide(statements, action, resource) == "Allow"


def role_arn(*, region: str, account: str, environment: str, role: str) -> str:
    return f"arn:aws:airflow:{region}:{account}:role/{environment}/{role}"


def granted_role(statements: Sequence[Statement], action: str, *, region: str, account: str,
                 environment: str) -> str | None:
    """The strongest Airflow role whose role resource the statements allow for `action`."""
    for role in AIRFLOW_ROLES:
        arn = role_arn(region=region, account=account, environment=environment, role=role)
        if is_allowed(statements, action, arn):
            return role
    return None


def _match(pattern: str, value: str, *, fold: bool) -> bool:
    return _compiled(pattern, fold).fullmatch(value) is not None


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str, fold: bool) -> re.Pattern:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if fold else re.DOTALL)


# Aerodrome's own management actions (principals, the audit log) are `aerodrome:` actions, so a
# policy granting `airflow:*` (MWAA's full API access) does not let its holder grant itself more.
ADMIN_POLICY = {"Statement": [{"Effect": "Allow",
                               "Action": ["airflow:*", "aerodrome:*", "iam:PassRole", "cloudwatch:*", "logs:*"],
                               "Resource": "*"}]}
# What older versions gave the admin; brought up to ADMIN_POLICY at start.
EARLIER_ADMIN_POLICIES = ({"Statement": [{"Effect": "Allow", "Action": "airflow:*", "Resource": "*"}]},
                          {"Statement": [{"Effect": "Allow", "Action": ["airflow:*", "aerodrome:*"], "Resource": "*"}]},
                          {"Statement": [{"Effect": "Allow", "Action": ["airflow:*", "aerodrome:*", "iam:PassRole"],
                                          "Resource": "*"}]})
