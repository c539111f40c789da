"""The Airflow CLI commands MWAA's CLI bridge accepts, and the check of a command line against them."""

from __future__ import annotations

import shlex

from aerodrome import errors

_COMMON: dict[str, set[str] | None] = {
    "assets": {"details", "list", "materialize"},
    "backfill": {"create"},
    "cheat-sheet": None,
    "connections": {"add", "delete"},
    "dags": {"delete", "list", "list-jobs", "list-import-errors", "list-runs", "next-execution", "pause",
             "report", "reserialize", "show", "state", "test", "trigger", "unpause"},
    "db": {"clean"},
    "providers": {"behaviours", "get", "hooks", "links", "list", "notifications", "secrets", "triggerer",
                  "widgets"},
    "roles": {"add-perms", "del-perms", "create", "list"},
    "tasks": {"clear", "failed-deps", "list", "render", "state", "states-for-dag-run", "test"},
    "variables": {"delete", "get", "set", "list"},
    "version": None,
}
# Airflow 2 has no assets/backfill groups but keeps `dags backfill` and `tasks run`.
SUPPORTED: dict[int, dict[str, set[str] | None]] = {
    3: _COMMON,
    2: {**{k: v for k, v in _COMMON.items() if k not in ("assets", "backfill")},
        "dags": {*(_COMMON["dags"] or ()), "backfill"}, "tasks": {*(_COMMON["tasks"] or ()), "run"}},
}


def parse(command_line: str, *, major: int) -> list[str]:
    """The arguments of a supported command line (without `airflow`); raises Invalid otherwise."""
    try:
        args = shlex.split(command_line)
    except ValueError as exc:
        raise errors.Invalid(f"The command line cannot be parsed: {exc}.") from None
    if args and args[0] == "airflow":
        args = args[1:]
    if not args:
        raise errors.Invalid("The request body must be an Airflow CLI command line, e.g. `dags list`.")
    table = SUPPORTED[2 if major < 3 else 3]
    group = args[0]
    if group not in table:
        raise errors.Invalid(f"Airflow CLI command not supported: {group}. Supported commands: "
                             f"{', '.join(sorted(table))}.")
    commands = table[group]
    if commands is not None and (len(args) < 2 or args[1] not in commands):
        given = args[1] if len(args) > 1 else "(none)"
        raise errors.Invalid(f"Airflow CLI command not supported: {group} {given}. Supported `{group}` "
                             f"commands: {', '.join(sorted(commands))}.")
    return args
