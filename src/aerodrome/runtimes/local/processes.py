"""Helpers of the local driver over OS processes and their logs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from aerodrome.domain.placement import Placement

if TYPE_CHECKING:
    import psutil

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


def alive(process: psutil.Process | None, popen: subprocess.Popen | None = None) -> bool:
    """Whether a process runs. A child we started is asked through its Popen: until we collect its
    status its pid cannot be reused, so the kernel's answer is the truth, and asking collects
    nothing (see `exited`). Only an adopted process (found from a pid file) is judged by psutil,
    where a zombie is dead and one we may not read (AccessDenied) is alive."""
    import psutil

    if popen is not None:
        return popen.returncode is None and not exited(popen)
    if process is None:
        return False
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.AccessDenied:
        return True
    except psutil.Error:
        return False


def exited(popen: subprocess.Popen) -> bool:
    """Whether our child has exited, leaving its status to be collected: while it is an unreaped
    zombie its pid, and so its process group's id, stays taken."""
    if popen.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # collected by a concurrent poll()
        return True


def start_mark(process: psutil.Process) -> dict[str, float]:
    """What identifies a running process in a pid file: its start time, also as seconds since boot
    (which a step of the wall clock does not move, as it moves `create_time`)."""
    import psutil

    created = process.create_time()
    return {"create_time": created, "since_boot": round(created - psutil.boot_time(), 2)}


def marked(pid: int, mark: Mapping[str, float]) -> psutil.Process | None:
    """The process `pid` if it is the one `mark` (from `start_mark`) was taken of, and alive."""
    import psutil

    try:
        process = psutil.Process(pid)
        if "since_boot" in mark:
            same = abs(start_mark(process)["since_boot"] - mark["since_boot"]) < 0.015
        else:  # written by an older control plane
            same = abs(process.create_time() - mark["create_time"]) < 0.01
    except psutil.Error:
        return None
    return process if same and alive(process) else None
