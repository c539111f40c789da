"""`aerodrome hosts install|remove`: make the API's host-prefixed names resolve on this machine.

botocore can be told not to prefix hosts (`AWS_DISABLE_HOST_PREFIX_INJECTION`); the Go SDK (so
Terraform), the JavaScript SDK and others always send MWAA's calls to `api.<host>` and `env.<host>`.
The server routes by path, never by Host, so resolving those names to the API's address is enough.
The block this writes is marked, rewritten in place (the hosts file may be a mount) and idempotent.
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import socket
import sys
from pathlib import Path

from aerodrome.settings import Settings

HOSTS_FILE = Path("/etc/hosts")
PREFIXES = ("api", "env")  # the host prefixes botocore's mwaa model puts on its operations
BEGIN, END = "# BEGIN aerodrome endpoint names", "# END aerodrome endpoint names"


def register(commands: argparse._SubParsersAction) -> None:
    hosts = commands.add_parser("hosts", help="make api.<host> and env.<host> resolve (Terraform, Go/JS SDKs)")
    actions = hosts.add_subparsers(dest="hosts_command", required=True)
    for name, text in (("install", "add the names to the hosts file"), ("remove", "take them out again")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--file", type=Path, default=HOSTS_FILE, help="hosts file to change (default /etc/hosts)")
        action.set_defaults(handler=run)


def names(settings: Settings) -> list[str]:
    """The prefixed names clients ask for; none when the endpoint host is an address."""
    host = settings.endpoint_host
    if _is_address(host):
        return []
    return [f"{prefix}.{host}" for prefix in PREFIXES]


def with_block(text: str, address: str, hostnames: list[str]) -> str:
    """`text` with the marked block (replacing an earlier one) mapping `hostnames` to `address`."""
    kept = without_block(text)
    if kept and not kept.endswith("\n"):
        kept += "\n"
    return f"{kept}{BEGIN}\n{address} {' '.join(hostnames)}\n{END}\n"


def without_block(text: str) -> str:
    lines, inside = [], False
    for line in text.splitlines(keepends=True):
        marker = line.strip()
        if marker == BEGIN:
            inside = True
        elif marker == END:
            inside = False
        elif not inside:
            lines.append(line)
    return "".join(lines)


def unresolved(settings: Settings) -> list[str]:
    """Which of the prefixed names do not resolve here."""
    missing = []
    for name in names(settings):
        try:
            socket.getaddrinfo(name, None)
        except OSError:
            missing.append(name)
    return missing


def run(args: argparse.Namespace, settings: Settings) -> int:
    hostnames = names(settings)
    if not hostnames:
        print(f"The endpoint host {settings.endpoint_host} is an address: clients prefix names, not addresses. "
              "Set AERODROME_ENDPOINT_HOSTNAME to a DNS name.", file=sys.stderr)
        return 2
    path: Path = args.file
    try:
        with open(path, "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            text = handle.read()
            changed = (with_block(text, _address(settings), hostnames) if args.hosts_command == "install"
                       else without_block(text))
            if changed != text:
                handle.seek(0)
                handle.write(changed)
                handle.truncate()
    except PermissionError:
        print(f"{path} is not writable by this user; run: sudo uv run aerodrome hosts {args.hosts_command}",
              file=sys.stderr)
        return 1
    verb = "resolve to " + _address(settings) if args.hosts_command == "install" else "removed"
    print(f"{', '.join(hostnames)}: {verb} ({path})")
    return 0


def _address(settings: Settings) -> str:
    return "127.0.0.1" if settings.host in ("0.0.0.0", "::", "localhost") else settings.host


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
