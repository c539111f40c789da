"""`aerodrome env hibernate|resume ENV`: stop an environment's processes and start them again.
Both wait for the end, printing progress from the event stream, unless --no-wait."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from aerodrome.settings import Settings

if TYPE_CHECKING:
    from aerodrome.cli.ext_client import ExtClient

# requested action -> (status that means done, statuses that mean it failed)
OUTCOMES = {"hibernate": ("HIBERNATED", {"UNAVAILABLE", "DELETING"}),
            "resume": ("AVAILABLE", {"UNAVAILABLE", "DELETING"})}


def register(commands: argparse._SubParsersAction) -> None:
    group = env_group(commands)
    hibernate = group.add_parser("hibernate", help="stop every process, keep database and bucket state")
    hibernate.add_argument("name", metavar="ENV")
    hibernate.add_argument("--force", action="store_true",
                           help="stop running tasks instead of letting them finish (they are retried on resume)")
    hibernate.add_argument("--no-wait", action="store_true", help="return once the request is accepted")
    hibernate.set_defaults(handler=lambda args, settings: run(args, settings, "hibernate"))
    resume = group.add_parser("resume", help="start a hibernated environment again, with its history")
    resume.add_argument("name", metavar="ENV")
    resume.add_argument("--no-wait", action="store_true", help="return once the request is accepted")
    resume.set_defaults(handler=lambda args, settings: run(args, settings, "resume"))


def env_group(commands: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The `env` command group's sub-commands (shared with other modules that add `env` commands)."""
    parser = commands.choices.get("env") or commands.add_parser("env", help="manage environments")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="env_command", required=True)


def run(args: argparse.Namespace, settings: Settings, action: str) -> int:
    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)
    started = time.monotonic()

    def work() -> int:
        body = {"Force": True} if getattr(args, "force", False) else {}
        reply = client.request("POST", f"/environments/{args.name}/{action}", body=body)
        print(f"{args.name}: {reply['Status']}", flush=True)
        if args.no_wait:
            return 0
        return _wait(client, args.name, reply["EventPosition"], action, started)

    return reporting(f"env {action}", client, work)


def _wait(client: ExtClient, name: str, position: int, action: str, started: float) -> int:
    done, failed = OUTCOMES[action]
    query = {"follow": "true", "environment": name, "after": position}
    for _, data in client.stream("/events", query=query):
        detail = json.loads(data)["detail"]
        elapsed = time.monotonic() - started
        if "activeTasks" in detail:
            print(f"{name}: draining, {detail['activeTasks']} task(s) queued or running ({elapsed:.1f} s)", flush=True)
            continue
        status = detail.get("status")
        if status is None:  # another kind of event (a schedule firing, ...)
            continue
        print(f"{name}: {status} ({elapsed:.1f} s)", flush=True)
        if status == done:
            return 0
        if status in failed:
            print(f"{name}: {action} did not finish; `aws mwaa get-environment --name {name}` shows why "
                  "(LastUpdate.Error) and the control-plane log has the details.", file=sys.stderr)
            return 1
    return 1
