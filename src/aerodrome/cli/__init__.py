"""`aerodrome` command line: up, client-env, and the command groups in this package.

Each further command group is a module here with `register(commands)`, which adds its sub-parsers
and sets `handler=<function(args, settings) -> int>` on them; `main` calls that handler.
"""

from __future__ import annotations

import argparse
import shlex

from aerodrome.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aerodrome", description="Self-hosted managed Airflow, MWAA-compatible.")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the control plane (and a demo environment) in the foreground")
    up.add_argument("--host", help="address the MWAA API binds to (default 127.0.0.1)")
    up.add_argument("--port", type=int, help="MWAA API port (default 8700, or AERODROME_PORT)")
    up.add_argument("--no-demo", action="store_true", help="do not create the demo environment")

    client_env = commands.add_parser("client-env", help="print export lines for boto3, the AWS CLI and MwaaHook")
    client_env.add_argument("--with-s3", action="store_true", help="also point S3 clients at the local buckets")

    for module in _command_modules():
        module.register(commands)

    args = parser.parse_args(argv)
    settings = Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None))
    if getattr(args, "handler", None) is not None:
        return args.handler(args, settings)
    if args.command == "up":
        from aerodrome.up import run_up

        return run_up(settings, demo=not args.no_demo)
    if args.command == "client-env":
        return print_client_env(settings, with_s3=args.with_s3)
    return 2


def _command_modules() -> list:
    """Command-group modules of this package (each has `register(commands)`)."""
    from aerodrome.cli import contents, events, hibernate, hosts, principals, schedules, snapshots, workers

    return [principals, events, hibernate, schedules, contents, snapshots, hosts, workers]


def print_client_env(settings: Settings, *, with_s3: bool) -> int:
    from aerodrome.cli.client_env import client_env_vars

    for key, value in client_env_vars(settings, with_s3=with_s3).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0
