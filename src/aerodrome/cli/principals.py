"""`aerodrome principals ...`: who may call the API, with which IAM-style policies; the audit log.
Requests to the running control plane's Aerodrome API (see api/ext/principals.py)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from aerodrome.settings import Settings

if TYPE_CHECKING:
    from aerodrome.cli.ext_client import ExtClient


def register(commands: argparse._SubParsersAction) -> None:
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
    trust = sub.add_parser("trust", help="set who may assume a principal as a role (STS AssumeRole)")
    trust.add_argument("name")
    trust.add_argument("document", help="the trust rule JSON (IAM's shape, with Principal), or @FILE")
    detach = sub.add_parser("detach-policy", help="remove a named policy from a principal")
    detach.add_argument("name")
    detach.add_argument("policy_name")
    audit = sub.add_parser("audit", help="recent API decisions, token uses and principal changes")
    audit.add_argument("--limit", type=int, default=50)
    for parser in (create, sub.choices["list"], delete, attach, trust, detach, audit):
        parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Each sub-command is one request to the running control plane, signed with the admin key
    `client-env` prints; the control plane authorizes and audits it."""
    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)
    return reporting(f"principals {args.principals_command}", client, lambda: _dispatch(args, client))


def _dispatch(args: argparse.Namespace, client: ExtClient) -> int:
    command = args.principals_command
    if command == "create":
        created = client.request("POST", "/principals", body={"Name": args.name})
        print(f"export AWS_ACCESS_KEY_ID={shlex.quote(created['AccessKeyId'])}")
        print(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(created['SecretAccessKey'])}")
        print(f"# {args.name} may do nothing until a policy is attached: aerodrome principals attach-policy "
              f"{args.name} <policy-name> '<json>'", file=sys.stderr)
    elif command == "list":
        print(json.dumps(client.request("GET", "/principals")["Principals"], indent=2))
    elif command == "delete":
        client.request("DELETE", f"/principals/{_segment(args.name)}")
    elif command == "attach-policy":
        client.request("PUT", f"/principals/{_segment(args.name)}/policies/{_segment(args.policy_name)}",
                       body={"PolicyDocument": _document(command, args.document)})
    elif command == "trust":
        client.request("PUT", f"/principals/{_segment(args.name)}/trust",
                       body={"PolicyDocument": _document(command, args.document)})
    elif command == "detach-policy":
        client.request("DELETE", f"/principals/{_segment(args.name)}/policies/{_segment(args.policy_name)}")
    elif command == "audit":
        for entry in client.request("GET", "/audit", query={"limit": args.limit})["Entries"]:
            print(json.dumps(entry))
    return 0


def _document(command: str, document: str) -> str:
    """A policy's JSON as given, or read from the file @FILE names."""
    if not document.startswith("@"):
        return document
    try:
        return Path(document[1:]).read_text()
    except OSError as exc:
        raise SystemExit(f"aerodrome principals {command}: cannot read {document[1:]}: {exc.strerror}") from None


def _segment(value: str) -> str:
    return quote(value, safe="")
