"""`aerodrome snapshot save|load|list|prune`: environment snapshots through the Aerodrome API.
`save` prints the new snapshot's id; `load` waits for the environment to come up and prints the
verification of the restored database, unless --no-wait."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from aerodrome.settings import Settings

if TYPE_CHECKING:
    from aerodrome.cli.ext_client import ExtClient

SAVE_TIMEOUT = 3600.0
FAILED = {"CREATE_FAILED", "UPDATE_FAILED", "UNAVAILABLE", "ROLLING_BACK", "DELETING"}


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("snapshot", help="save and load environment snapshots").add_subparsers(
        dest="snapshot_command", required=True)
    save = group.add_parser("save", help="snapshot an environment (it keeps running); prints the id")
    save.add_argument("name", metavar="ENV")
    save.add_argument("--bucket", help="bucket to write to (default: the snapshot bucket or the source bucket)")
    save.set_defaults(handler=_save)
    load = group.add_parser("load", help="load a snapshot into its environment or, with --into, a new one")
    load.add_argument("snapshot_id", metavar="ID")
    load.add_argument("--into", metavar="NEW_ENV", help="create this environment from the snapshot")
    load.add_argument("--bucket", help="bucket the snapshot is in, if not where snapshots are looked for")
    load.add_argument("--no-wait", action="store_true", help="return once the load is accepted")
    load.set_defaults(handler=_load)
    listing = group.add_parser("list", help="list snapshots, oldest first")
    listing.add_argument("name", metavar="ENV", nargs="?")
    listing.add_argument("--bucket")
    listing.add_argument("--json", action="store_true", help="print the summaries as JSON")
    listing.set_defaults(handler=_list)
    prune = group.add_parser("prune", help="delete an environment's oldest snapshots beyond the newest N")
    prune.add_argument("name", metavar="ENV")
    prune.add_argument("--keep", type=int, required=True, metavar="N")
    prune.add_argument("--bucket")
    prune.set_defaults(handler=_prune)


def _client(settings: Settings) -> ExtClient:
    from aerodrome.cli.ext_client import ExtClient

    return ExtClient(settings)


def _save(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import reporting

    client = _client(settings)

    def work() -> int:
        started = time.monotonic()
        print(f"{args.name}: saving a snapshot ...", file=sys.stderr, flush=True)
        body = {"Bucket": args.bucket} if args.bucket else {}
        made = client.request("POST", f"/environments/{args.name}/snapshots", body=body, timeout=SAVE_TIMEOUT)
        print(f"{args.name}: saved {made['sizeBytes']} bytes to s3://{made['bucket']} in "
              f"{time.monotonic() - started:.1f} s ({_counts(made['counts'])})", file=sys.stderr, flush=True)
        print(made["id"], flush=True)
        return 0

    return reporting("snapshot save", client, work)


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import reporting

    client = _client(settings)

    def work() -> int:
        started = time.monotonic()
        body = {k: v for k, v in (("Into", args.into), ("Bucket", args.bucket)) if v}
        reply = client.request("POST", f"/snapshots/{args.snapshot_id}/load", body=body, timeout=SAVE_TIMEOUT)
        print(f"{reply['Name']}: loading snapshot {reply['Snapshot']} ({reply['Status']})", flush=True)
        return 0 if args.no_wait else _wait(client, reply, started)

    return reporting("snapshot load", client, work)


def _wait(client: ExtClient, reply: dict, started: float) -> int:
    """Until the environment is AVAILABLE and the restore is reported (or either fails)."""
    name, verified, available = reply["Name"], None, False
    query = {"follow": "true", "environment": name, "after": reply["EventPosition"]}
    for _, data in client.stream("/events", query=query):
        detail, elapsed = json.loads(data)["detail"], time.monotonic() - started
        if detail.get("phase") == "loaded" and detail.get("snapshot") == reply["Snapshot"]:
            verified = detail.get("result") == "verified"
            print(f"{name}: restored the database, {detail.get('detail')} ({elapsed:.1f} s)", flush=True)
        elif "status" in detail:
            print(f"{name}: {detail['status']} ({elapsed:.1f} s)", flush=True)
            available = detail["status"] == "AVAILABLE"
            if detail["status"] in FAILED:
                print(f"{name}: the load did not finish; `aws mwaa get-environment --name {name}` shows why.",
                      file=sys.stderr)
                return 1
        if verified is False:
            return 1
        if verified and available:
            return 0
    return 1


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import reporting

    client = _client(settings)

    def work() -> int:
        found = client.request("GET", "/snapshots", query={"environment": args.name, "bucket": args.bucket})
        if args.json:
            print(json.dumps(found["Snapshots"], indent=1))
            return 0
        for item in found["Snapshots"]:
            print(f"{item['id']}  {item['environment']:<20} {item['created'][:19]}  "
                  f"Airflow {item['airflowVersion']:<7} {item['sizeBytes']:>10} B  s3://{item['bucket']}  "
                  f"{_counts(item['counts'])}")
        return 0

    return reporting("snapshot list", client, work)


def _prune(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import reporting

    client = _client(settings)

    def work() -> int:
        body = {"Keep": args.keep, **({"Bucket": args.bucket} if args.bucket else {})}
        done = client.request("POST", f"/environments/{args.name}/snapshots/prune", body=body, timeout=600)
        for snapshot_id in done["Deleted"]:
            print(f"deleted {snapshot_id}")
        print(f"{args.name}: {len(done['Kept'])} snapshot(s) kept")
        return 0

    return reporting("snapshot prune", client, work)


def _counts(counts: dict) -> str:
    return ", ".join(f"{value} {key}" for key, value in counts.items())
