"""Start one Airflow component the way MWAA does: run the user's startup script first.

Runs as a standalone script under the environment's Airflow venv (standard library only):

    python launcher.py --script S --timeout SECONDS --log LOG -- airflow ARGS...

The script is sourced by bash with MWAA_AIRFLOW_COMPONENT set; its output goes to LOG; variables it
exports reach the component (and so its tasks), except the variables listed in
AERODROME_STARTUP_KEEP (reserved ones, AirflowConfigurationOptions, what the environment owns):
those keep their value and the attempt is logged. A script that fails or outlives the time limit
stops the component from starting, with a message naming the script's log.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

KEEP_VAR = "AERODROME_STARTUP_KEEP"
# exit code of a launcher whose startup script failed or timed out: the driver fails the
# environment at once instead of waiting for restarts or the health timeout
SCRIPT_FAILED = 78
SHELL_NOISE = {"_", "SHLVL", "PWD", "OLDPWD", KEEP_VAR}
RUN = 'trap \'env -0 > "$2"\' EXIT; source "$1"'


def run_script(script: str, env: dict[str, str], *, timeout: float, log_path: str) -> tuple[int | None, dict]:
    """(exit code or None on timeout, the environment the script left)."""
    with tempfile.NamedTemporaryFile(prefix="startup-env-", delete=False) as dump, open(log_path, "ab") as log:
        log.write(f"--- startup script {script} at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
                  f"for {env.get('MWAA_AIRFLOW_COMPONENT')}\n".encode())
        log.flush()
        process = subprocess.Popen(["bash", "-c", RUN, "startup", script, dump.name], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            code = None
        try:
            with open(dump.name, "rb") as handle:
                raw = handle.read()
        finally:
            os.unlink(dump.name)
    left = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
    return code, left


def merge(env: dict[str, str], left: dict[str, str], keep: set[str], say: Callable[[str], None]) -> dict[str, str]:
    """`env` plus what the script exported, except the variables in `keep`."""
    out = dict(env)
    for key, value in sorted(left.items()):
        if key in SHELL_NOISE or env.get(key) == value:
            continue
        if key in keep:
            say(f"the startup script set {key}, a variable the environment reserves; it keeps its value")
            continue
        out[key] = value
    return out


def _stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: str, start: int, lines: int = 2, limit: int = 300) -> str:
    """The last lines the script wrote (from byte `start` of its log), shortened."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(start, os.path.getsize(path) - 2000))
            text = handle.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])[-limit:] or "no output"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--script", required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    env = dict(os.environ)
    keep = set(filter(None, env.pop(KEEP_VAR, "").split(",")))
    os.makedirs(os.path.dirname(args.log), exist_ok=True)

    def say(line: str) -> None:
        with open(args.log, "a") as log:
            log.write(line + "\n")
        print(f"startup script: {line}", file=sys.stderr, flush=True)

    started = time.monotonic()
    start = os.path.getsize(args.log) if os.path.exists(args.log) else 0
    code, left = run_script(args.script, env, timeout=args.timeout, log_path=args.log)
    if code is None:
        say(f"the startup script did not finish within {args.timeout:g} s and was stopped; the component does "
            f"not start (log: {args.log})")
        return SCRIPT_FAILED
    if code != 0:
        say(f"the startup script exited with code {code}; the component does not start. Its last output: "
            f"{_tail(args.log, start)} (log: {args.log})")
        return SCRIPT_FAILED
    env = merge(env, left, keep, say)
    say(f"the startup script finished in {time.monotonic() - started:.1f} s")
    os.execvpe(command[0], command, env)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
