"""`aerodrome env schedule ENV [--hibernate CRON] [--resume CRON] [--snapshot CRON --keep N]
[--timezone TZ] [--clear]`: set an environment's schedules (standard 5-field cron, UTC unless
--timezone). Kinds not named keep their schedule; --clear drops the others first. With no flags it
prints the schedules and their next fire times."""

from __future__ import annotations

import argparse

from aerodrome.settings import Settings

FLAGS = ("hibernate", "resume", "snapshot")


def register(commands: argparse._SubParsersAction) -> None:
    from aerodrome.cli.hibernate import env_group

    parser = env_group(commands).add_parser(
        "schedule", help="hibernate, resume or snapshot an environment on cron schedules; no flags: show them")
    parser.add_argument("name", metavar="ENV")
    parser.add_argument("--hibernate", metavar="CRON", help="when to hibernate, e.g. '0 19 * * 1-5'")
    parser.add_argument("--resume", metavar="CRON", help="when to resume, e.g. '0 7 * * 1-5'")
    parser.add_argument("--snapshot", metavar="CRON", help="when to take a snapshot (needs --keep)")
    parser.add_argument("--keep", type=int, metavar="N", help="how many scheduled snapshots to keep")
    parser.add_argument("--timezone", metavar="TZ", help="read the cron expressions given here in TZ (default UTC)")
    parser.add_argument("--clear", action="store_true", help="remove the schedules not given in this command")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)
    path = f"/environments/{args.name}/schedules"

    def work() -> int:
        given = {kind: getattr(args, kind) for kind in FLAGS if getattr(args, kind) is not None}
        if args.keep is not None and "snapshot" not in given:
            raise SystemExit("aerodrome env schedule: --keep goes with --snapshot CRON")
        if not given and not args.clear:
            return show(client.request("GET", path))
        current = [] if args.clear else client.request("GET", path)["Schedules"]
        entries = {e["Kind"]: {k: e[k] for k in ("Kind", "Cron", "Timezone", "Keep") if k in e} for e in current}
        for kind, cron in given.items():
            entries[kind] = {"Kind": kind, "Cron": cron, "Timezone": args.timezone or "UTC"}
            if kind == "snapshot" and args.keep is not None:
                entries[kind]["Keep"] = args.keep
        return show(client.request("PUT", path, body={"Schedules": list(entries.values())}))

    return reporting("env schedule", client, work)


def show(reply: dict) -> int:
    name, schedules = reply["Name"], reply["Schedules"]
    if not schedules:
        print(f"{name}: no schedules")
        return 0
    print(f"{'KIND':<10} {'CRON':<20} {'TIMEZONE':<16} {'NEXT FIRE':<21} LAST FIRED")
    for entry in schedules:
        kind = entry["Kind"] + (f" (keep {entry['Keep']})" if "Keep" in entry else "")
        print(f"{kind:<10} {entry['Cron']:<20} {entry['Timezone']:<16} {entry['NextFire']:<21} "
              f"{entry['LastFired'] or '-'}", flush=True)
    return 0
