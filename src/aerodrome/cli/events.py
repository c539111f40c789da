"""`aerodrome events [--follow] [--json] [--env NAME]`: status events of the running control plane."""

from __future__ import annotations

import argparse
import json

from aerodrome.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("events", help="show status events (EventBridge-shaped); --follow to keep watching")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing events as they happen")
    parser.add_argument("--json", action="store_true", help="one event object (JSON) per line")
    parser.add_argument("--env", help="only this environment's events")
    parser.add_argument("--after", type=int, default=0,
                        help="only events after this position (default: all; with --follow, from now on)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)

    def work() -> int:
        query = {"environment": args.env, "after": args.after}
        if not args.follow:
            for event in client.request("GET", "/events", query=query)["events"]:
                _print(event, as_json=args.json)
            return 0
        query["after"] = args.after or "now"
        for _, data in client.stream("/events", query={**query, "follow": "true"}):
            _print(json.loads(data), as_json=args.json)
        return 0

    return reporting("events", client, work)


def _print(event: dict, *, as_json: bool) -> None:
    if as_json:
        line = json.dumps(event, separators=(",", ":"))
    else:
        detail = event["detail"]
        change = detail.get("status", "")
        if detail.get("previousStatus"):
            change = f"{detail['previousStatus']} -> {change}"
        elif "activeTasks" in detail:
            change = f"{detail.get('phase', '')}: {detail['activeTasks']} task(s) queued or running"
        elif "schedule" in detail:
            change = f"{detail['schedule']} schedule {detail.get('phase', '')}: {detail.get('reason', detail['cron'])}"
        line = f"{event['time']}  {detail['name']:<24} {event['detail-type']:<32} {change}"
    print(line, flush=True)
