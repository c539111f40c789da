"""`aerodrome` command line: up, client-env, and the command groups in this package.

Each further command group is a module here with `register(commands)`, which adds its sub-parsers
and sets `handler=<function(args, settings) -> int>` on them; `main` calls that handler.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

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
    from aerodrome.cli import contents, events, hibernate, hosts, principals, schedules, snapshots

    return [principals, events, hibernate, schedules, contents, snapshots, hosts]


def client_env_vars(settings: Settings, *, with_s3: bool = False) -> dict[str, str]:
    """The variables unmodified boto3, the AWS CLI and MwaaHook need to reach this control plane."""
    from aerodrome.auth import sealed
    from aerodrome.services.credentials import CredentialService
    from aerodrome.store.db import Store

    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url, sealer=sealed.Sealer(settings.store_key_file))
    store.migrate()
    try:
        access_key, secret = CredentialService(store=store).admin()
    finally:
        store.close()
    running = _running_endpoints(settings)
    endpoint = running.get("endpoint_url", settings.endpoint_url)
    values = {
        "AWS_ENDPOINT_URL_MWAA": endpoint,
        "AWS_ENDPOINT_URL_STS": endpoint,  # STS (GetCallerIdentity, temporary credentials) is served there too
        "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint,  # and CloudWatch's metric API
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": endpoint,  # and CloudWatch Logs (SDKs read this name: its service id)
        "AWS_ENDPOINT_URL_LOGS": endpoint,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_REGION": settings.region,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    bundle = running.get("ca_bundle") or _bundle_if_present(settings)
    if bundle:  # trust the environments' HTTPS web endpoints (requests, curl via the AWS CLI, boto3)
        values["REQUESTS_CA_BUNDLE"] = bundle
        values["AWS_CA_BUNDLE"] = bundle
    if with_s3:
        values["AWS_ENDPOINT_URL_S3"] = running.get(
            "s3_endpoint_url", settings.s3_endpoint_url or f"http://127.0.0.1:{settings.s3_port}")
    return values


def print_client_env(settings: Settings, *, with_s3: bool) -> int:
    for key, value in client_env_vars(settings, with_s3=with_s3).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _bundle_if_present(settings: Settings) -> str | None:
    bundle = settings.tls_dir / "bundle.pem"
    return str(bundle) if settings.web_tls and bundle.exists() else None


def _running_endpoints(settings: Settings) -> dict:
    path: Path = settings.endpoint_file
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}

