"""Idle sleep's freeze: each of an environment's process groups stopped with SIGSTOP where it stands,
and let go on with SIGCONT. A frozen process uses no CPU and keeps its memory, its sockets and its
database connections, so a wake is a signal, not a start. The marker file lists the frozen processes
(with their start marks, so a later control plane signals only those very processes); it is written
before the first SIGSTOP, so a crash in between leaves nothing frozen unrecorded."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import psutil

from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local import processes


def _marker(placement: Placement) -> Path:
    return placement.root / "run" / "frozen.json"


def freeze(placement: Placement, pids: list[int]) -> None:
    """Stop the process groups these processes lead."""
    marks = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            marks.append({"pid": pid, **processes.start_mark(psutil.Process(pid))})
    marker = _marker(placement)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(marks))
    for mark in marks:
        _signal_group(mark, signal.SIGSTOP)


def thaw(placement: Placement) -> None:
    """Let the frozen process groups go on (those still alive), and forget them."""
    marker = _marker(placement)
    try:
        marks = json.loads(marker.read_text())
    except (OSError, ValueError):
        marks = []
    for mark in marks:
        _signal_group(mark, signal.SIGCONT)
    marker.unlink(missing_ok=True)


def since(placement: Placement) -> float | None:
    """When the environment was frozen (seconds since the epoch), or None when it is not: no marker,
    or none of the processes it lists is alive (a control plane that stopped them all as it closed)."""
    marker = _marker(placement)
    try:
        frozen_at = marker.stat().st_mtime
        marks = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return frozen_at if any(processes.marked(mark["pid"], mark) is not None for mark in marks) else None


def forget(placement: Placement) -> None:
    """Its processes were stopped: nothing is frozen any more."""
    _marker(placement).unlink(missing_ok=True)


def _signal_group(mark: dict, sig: int) -> None:
    if processes.marked(mark["pid"], mark) is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(mark["pid"]), sig)
