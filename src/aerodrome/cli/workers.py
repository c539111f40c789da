"""`aerodrome worker token ENV [--queue Q] [--ttl 12h]`: a join token for one remote worker host
(printed once; only its hash is kept). `aerodrome worker tokens ENV`: the environment's tokens and
the hosts that joined with them. `aerodrome worker revoke ENV TOKEN_ID`: revoke one.
`aerodrome worker join --endpoint URL --token T`: on another host, join and run a worker (cli/join.py)."""

from __future__ import annotations

import argparse

from aerodrome.cli import join
from aerodrome.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("worker", help="remote worker hosts: join tokens, joining").add_subparsers(
        dest="worker_command", required=True)
    token = group.add_parser("token", help="issue a join token for one remote worker host")
    token.add_argument("name", metavar="ENV")
    token.add_argument("--queue", metavar="Q", help="Celery queue the host's workers consume (default: default)")
    token.add_argument("--ttl", metavar="TTL",
                       help="how long the token can be used to join: seconds or 30m, 12h, 7d (default 24h)")
    token.set_defaults(handler=issue)
    tokens = group.add_parser("tokens", help="list an environment's join tokens and their hosts")
    tokens.add_argument("name", metavar="ENV")
    tokens.set_defaults(handler=show)
    revoke = group.add_parser("revoke", help="revoke a join token; its host may not join again")
    revoke.add_argument("name", metavar="ENV")
    revoke.add_argument("token_id", metavar="TOKEN_ID")
    revoke.set_defaults(handler=revoke_token)
    join.register(group)


def issue(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)

    def work() -> int:
        body = {key: value for key, value in (("Queue", args.queue), ("Ttl", args.ttl)) if value is not None}
        reply = client.request("POST", f"/environments/{args.name}/worker-tokens", body=body)
        print(reply["Token"])
        print(f"token {reply['TokenId']} for {reply['Environment']}, queue {reply['Queue']}, "
              f"usable until {reply['ExpiresAt']}; shown only now", flush=True)
        return 0

    return reporting("worker token", client, work)


def show(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)

    def work() -> int:
        reply = client.request("GET", f"/environments/{args.name}/worker-tokens")
        print(f"{'TOKEN':<17} {'QUEUE':<16} {'STATE':<8} {'EXPIRES':<21} HOST")
        for entry in reply["Tokens"]:
            print(f"{entry['TokenId']:<17} {entry['Queue']:<16} {entry['State']:<8} {entry['ExpiresAt']:<21} "
                  f"{entry['Host'] or '-'}", flush=True)
        return 0

    return reporting("worker tokens", client, work)


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)

    def work() -> int:
        reply = client.request("DELETE", f"/environments/{args.name}/worker-tokens/{args.token_id}")
        print(f"token {reply['TokenId']} of {reply['Environment']}: revoked at {reply['RevokedAt']}", flush=True)
        return 0

    return reporting("worker revoke", client, work)
