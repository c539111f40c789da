"""Helpers of the local driver over OS processes and their logs."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from aerodrome.domain.placement import Placement

LOG_TAIL = 1200


def parallel(function: Callable[[str], object], names: list[str]) -> None:
    threads = [threading.Thread(target=function, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def tail(path: Path | None) -> str:
    if path is None or not path.exists():
        return "no output"
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - LOG_TAIL))
        lines = handle.read().decode(errors="replace").strip().splitlines()
    return " | ".join(lines[-3:]) if lines else "no output"


def in_startup_script(pid: int | None) -> bool:
    """The process is still the launcher (it becomes Airflow once the startup script has finished)."""
    import psutil

    try:
        return pid is not None and any(part.endswith("launcher.py") for part in psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


def kill_leftovers(placement: Placement) -> None:
    """Processes of this environment the supervisor no longer knows (e.g. after a crash)."""
    import psutil

    root = str(placement.root)
    for process in psutil.process_iter(["pid", "cwd"]):
        try:
            if process.info["cwd"] and process.info["cwd"].startswith(root):
                process.kill()
        except psutil.Error:
            pass


def reap(popen: subprocess.Popen) -> None:
    """Collect a stopped child's exit status; one that outlived its group's kill is killed itself
    (a launcher still stopping its startup script, say), so no child is left unreaped."""
    try:
        popen.wait(1)
    except subprocess.TimeoutExpired:
        popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(10)
