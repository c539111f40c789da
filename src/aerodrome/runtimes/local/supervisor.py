"""Supervised OS processes: restart with backoff, logs per process, re-attach after a restart.

Each process runs in its own session (process group). A pid file records pid and start time so a
new control-plane process can re-attach to processes that outlived the old one.

Whether a process runs is asked of its Popen when we started it (never of psutil, which can be
wrong about a live process); a child of ours that exited takes what is left of its process group
with it before its status is collected. An adopted process (from a pid file) is judged by psutil
and its group is never killed on its death: its id may by then belong to someone else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from aerodrome.runtimes.local import forks, processes
from aerodrome.runtimes.local.draining import Drains

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a process up this long has its backoff reset


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_file: Path
    pid_file: Path
    cwd: Path | None = None
    user: str | None = None
    fingerprint: str = ""  # changes when the configuration changes; a running process with another is replaced
    stop_signal: int = signal.SIGTERM
    stop_grace: float | None = None  # at most this long between the stop signal and SIGKILL
    forkserver: Path | None = None  # the socket of the fork server to start it from (forks.py)
    group_only: bool = False  # a stop ends its process group only (a fork server's children run on)

    def __repr__(self) -> str:  # env may hold secrets
        return f"ProcessSpec(name={self.name!r}, argv0={self.argv[0]!r})"


@dataclass
class _Supervised:
    spec: ProcessSpec
    process: psutil.Process | None = None
    popen: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    exits: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(self, *, poll_interval: float = 1.0):
        self._procs: dict[str, _Supervised] = {}
        self._lock = threading.RLock()
        self._poll = poll_interval
        self._stop = threading.Event()
        self.drains = Drains(kill_group=_kill_group)
        self._thread = threading.Thread(target=self._monitor, name="supervisor", daemon=True)
        self._thread.start()

    # --- public ------------------------------------------------------------------------------
    def ensure(self, spec: ProcessSpec) -> bool:
        """Run `spec` unless a process with the same fingerprint already runs. True if (re)started."""
        with self._lock:
            current = self._procs.get(spec.name)
            if current and current.spec.fingerprint == spec.fingerprint and _running(current):
                return False
            if current is None:
                attached = _reattach(spec)
                if attached is not None:
                    self._procs[spec.name] = _Supervised(spec, process=attached, started_at=time.time())
                    return False
            if current is not None:
                self._terminate(current)
            else:
                _kill_recorded(spec.pid_file)
            entry = _Supervised(spec)
            self._procs[spec.name] = entry
            self._start(entry)
            return True

    def attach(self, spec: ProcessSpec) -> bool:
        """True if a process runs `spec`'s fingerprint (re-attaching to one an earlier control plane
        recorded); never starts or stops anything."""
        with self._lock:
            current = self._procs.get(spec.name)
            if current is not None:
                return current.spec.fingerprint == spec.fingerprint
            attached = _reattach(spec)
            if attached is None:
                return False
            self._procs[spec.name] = _Supervised(spec, process=attached, started_at=time.time())
            return True

    def drain(self, name: str, *, pid_file: Path, into: Path, limit: float) -> None:
        """Stop supervising `name` and let it finish its work and exit (see draining.py)."""
        with self._lock:
            entry = self._procs.pop(name, None)
        process = entry.process if entry else _recorded(pid_file)
        pid_file.unlink(missing_ok=True)
        if processes.alive(process, entry.popen if entry else None):
            self.drains.start(name, process, into=into, limit=limit, popen=entry.popen if entry else None)
        elif entry is not None and entry.popen is not None:  # it has exited already: collect its status
            processes.reap(entry.popen)

    def stop(self, name: str, *, grace: float = 10.0) -> None:
        with self._lock:
            entry = self._procs.pop(name, None)
        if entry is not None:
            self._terminate(entry, grace=grace)

    def stop_matching(self, prefix: str, *, grace: float = 10.0) -> None:
        for name in [n for n in list(self._procs) if n.startswith(prefix)]:
            self.stop(name, grace=grace)

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in list(self._procs) if n.startswith(prefix)]

    def state(self, name: str) -> tuple[bool, int | None, int]:
        """(running, pid, restarts)."""
        entry = self._procs.get(name)
        if entry is None:
            return False, None, 0
        alive = _running(entry)
        return alive, entry.process.pid if alive and entry.process else None, entry.restarts

    def recent_exits(self, name: str) -> list[int]:
        entry = self._procs.get(name)
        return list(entry.exits) if entry else []

    def close(self, *, grace: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(5)
        names = list(self._procs)
        threads = [threading.Thread(target=self.stop, args=(n,), kwargs={"grace": grace}) for n in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.drains.stop()

    # --- internals ---------------------------------------------------------------------------
    def _start(self, entry: _Supervised) -> None:
        spec = entry.spec
        spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log_file, "ab") as out:
            out.write(f"\n=== starting {spec.name} at {time.strftime('%Y-%m-%dT%H:%M:%S')} ===\n".encode())
            out.flush()
            pid = _forked(spec, out.fileno())
            if pid is None:
                entry.popen = subprocess.Popen(list(spec.argv), env=dict(spec.env), cwd=spec.cwd, stdout=out,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                               start_new_session=True, **as_user(spec.user))
                pid = entry.popen.pid
            else:
                entry.popen = None
        entry.started_at = time.time()
        try:
            entry.process = psutil.Process(pid)
        except psutil.NoSuchProcess:  # a forked one that ended at once: the monitor restarts it
            entry.process = None
            return
        spec.pid_file.parent.mkdir(parents=True, exist_ok=True)
        spec.pid_file.write_text(json.dumps({"pid": pid, **processes.start_mark(entry.process),
                                             "fingerprint": spec.fingerprint}))

    def _terminate(self, entry: _Supervised, *, grace: float = 10.0) -> None:
        if entry.process is not None:
            limit = entry.spec.stop_grace
            _kill_group(entry.process, grace=grace if limit is None else min(grace, limit), sig=entry.spec.stop_signal,
                        children=not entry.spec.group_only)
        if entry.popen is not None:
            processes.reap(entry.popen)
        entry.spec.pid_file.unlink(missing_ok=True)

    def _monitor(self) -> None:
        while not self._stop.wait(self._poll):
            with self._lock:
                entries = list(self._procs.values())
            for entry in entries:
                try:
                    self._check(entry)
                except Exception:
                    log.exception("supervising %s failed", entry.spec.name)

    def _check(self, entry: _Supervised) -> None:
        if _running(entry):
            return
        now = time.time()
        if entry.next_start == 0.0:
            if entry.popen is not None:  # exited, not yet collected: its group's id is still its own
                _kill_orphans(entry.popen.pid, entry.spec.name)
            elif entry.spec.forkserver is not None and entry.process is not None:
                _kill_strays(entry.process, entry.spec.name)
            code = entry.popen.poll() if entry.popen else None
            entry.exits = (entry.exits + [code if code is not None else -1])[-10:]
            uptime = now - entry.started_at
            backoff = 1.0 if uptime > STABLE_AFTER else min(MAX_BACKOFF, 2.0 ** min(entry.restarts, 5))
            entry.next_start = now + backoff
            log.warning("%s exited (code %s); restarting in %.0f s", entry.spec.name, code, backoff)
            return
        if now >= entry.next_start:
            with self._lock:
                if self._procs.get(entry.spec.name) is not entry:
                    return
                entry.restarts += 1
                entry.next_start = 0.0
                self._start(entry)


def _forked(spec: ProcessSpec, out: int) -> int | None:
    """The pid of `spec`'s process as its fork server started it; None to start it on our own (no
    fork server, or one that refused: it is not up, say)."""
    if spec.forkserver is None:
        return None
    try:
        return forks.spawn(spec.forkserver, argv=list(spec.argv), env=dict(spec.env), cwd=spec.cwd or Path.cwd(),
                           log=out)
    except forks.Refused as exc:
        log.warning("%s: starting it on its own: %s", spec.name, exc)
        return None


def as_user(user: str | None) -> dict:
    """subprocess arguments that run a child as `user` with that user's group only."""
    if user is None:
        return {}
    import pwd

    # and a umask that keeps what it writes to itself
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": [], "umask": 0o077}


def _running(entry: _Supervised) -> bool:
    return processes.alive(entry.process, entry.popen)


def _recorded(pid_file: Path) -> psutil.Process | None:
    try:
        data = json.loads(pid_file.read_text())
        return processes.marked(data["pid"], data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _reattach(spec: ProcessSpec) -> psutil.Process | None:
    """A process recorded for this spec by an earlier control plane, if it runs the same config."""
    process = _recorded(spec.pid_file)
    if process is None:
        return None
    try:
        fingerprint = json.loads(spec.pid_file.read_text()).get("fingerprint", "")
    except (OSError, ValueError):
        return None
    return process if fingerprint == spec.fingerprint else None


def _kill_recorded(pid_file: Path) -> None:
    process = _recorded(pid_file)
    if process is not None:
        _kill_group(process, grace=10.0, sig=signal.SIGTERM)
    pid_file.unlink(missing_ok=True)


def _kill_group(process: psutil.Process, *, grace: float, sig: int, children: bool = True) -> None:
    """Signal the main process (it stops its own children), wait, signal the rest of its process
    group (and, unless `children` is false, stray children in other groups), then SIGKILL what is left."""
    try:
        members = [process] + (process.children(recursive=True) if children else [])
        pgid = os.getpgid(process.pid)
    except (psutil.Error, ProcessLookupError):
        return
    with contextlib.suppress(psutil.Error):
        process.send_signal(sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGCONT)  # a frozen (idle sleep) group handles the signal only once it goes on
    _wait_gone([process], timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
    alive = _wait_gone(members, timeout=2)
    for leftover in alive:
        with contextlib.suppress(psutil.Error):
            leftover.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    _wait_gone(alive, timeout=2)


def _kill_orphans(pgid: int, name: str) -> None:
    """SIGKILL what is left of the process group of a leader of ours that has exited but whose
    status is not yet collected (so `pgid` cannot name anyone else's group): a killed worker's pool
    children, say. Their parent is now init, which collects them; we wait until they are gone."""
    left = [p for p in _members(pgid) if p.pid != pgid]
    if not left:
        return
    log.warning("%s left %d process(es) in its group; killing them", name, len(left))
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    _wait_gone(left, timeout=2)


def _kill_strays(leader: psutil.Process, name: str) -> None:
    """SIGKILL, one by one, what is left of the group of a forked leader that has exited (its fork
    server collected it, so the group's id is no longer certainly its own): members started after it."""
    left = [p for p in _members(leader.pid) if p.pid != leader.pid and _started_since(p, leader)]
    if not left:
        return
    log.warning("%s left %d process(es) in its group; killing them", name, len(left))
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    _wait_gone(left, timeout=2)


def _started_since(process: psutil.Process, leader: psutil.Process) -> bool:
    try:
        return process.create_time() >= leader.create_time()
    except psutil.Error:
        return False


def _members(pgid: int) -> list[psutil.Process]:
    members = []
    for pid in psutil.pids():
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(pid) == pgid:
                members.append(psutil.Process(pid))
    return members


def _wait_gone(members: list[psutil.Process], *, timeout: float) -> list[psutil.Process]:
    """Wait until the processes have exited (a zombie nobody reaps counts as exited); the rest."""
    deadline = time.monotonic() + timeout
    alive = [p for p in members if processes.alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if processes.alive(p)]
    return alive
