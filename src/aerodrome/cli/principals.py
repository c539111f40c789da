"""`aerodrome principals ...`: who may call the API, with which IAM-style policies; the audit log."""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
from pathlib import Path

from aerodrome import errors
from aerodrome.settings import Settings


def register(commands) -> None:
    group = commands.add_parser("principals", help="manage principals (access keys + policies) and read the audit log")
    sub = group.add_subparsers(dest="principals_command", required=True)
    create = sub.add_parser("create", help="create a principal and print its access key (the secret is shown once)")
    create.add_argument("name")
    sub.add_parser("list", help="principals, their access key ids and policies (never secrets)")
    delete = sub.add_parser("delete", help="delete a principal and its access keys")
    delete.add_argument("name")
    attach = sub.add_parser("attach-policy", help="add or replace a named policy document of a principal")
    attach.add_argument("name")
    attach.add_argument("policy_name")
    attach.add_argument("document", help="the policy JSON, or @FILE to read it from a file")
    detach = sub.add_parser("detach-policy", help="remove a named policy from a principal")
    detach.add_argument("name")
    detach.add_argument("policy_name")
    audit = sub.add_parser("audit", help="recent API decisions, token uses and principal changes")
    audit.add_argument("--limit", type=int, default=50)
    for parser in (create, sub.choices["list"], delete, attach, detach, audit):
        parser.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    with _principals(settings) as principals:
        try:
            return _dispatch(args, settings, principals)
        except errors.AerodromeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1


def _dispatch(args, settings: Settings, principals) -> int:
    command = args.principals_command
    if command == "create":
        key, secret = principals.create(args.name)
        print(f"export AWS_ACCESS_KEY_ID={shlex.quote(key)}")
        print(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(secret)}")
        print(f"# {args.name} may do nothing until a policy is attached: aerodrome principals attach-policy "
              f"{args.name} <policy-name> '<json>'", file=sys.stderr)
    elif command == "list":
        print(json.dumps(principals.describe(), indent=2))
    elif command == "delete":
        principals.delete(args.name)
    elif command == "attach-policy":
        document = args.document
        if document.startswith("@"):
            document = Path(document[1:]).read_text()
        principals.attach(args.name, args.policy_name, document)
    elif command == "detach-policy":
        principals.detach(args.name, args.policy_name)
    elif command == "audit":
        for entry in principals.audit(limit=args.limit):
            print(json.dumps(entry))
    return 0


@contextlib.contextmanager
def _principals(settings: Settings):
    from aerodrome.services.principals import PrincipalService
    from aerodrome.store.db import Store

    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url)
    store.migrate()
    try:
        service = PrincipalService(store=store, region=settings.region, account=settings.account)
        service.ensure_admin()
        yield service
    finally:
        store.close()
