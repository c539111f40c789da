"""An environment's Airflow processes: converge them on a spec (workers by surge, others one at a
time), scale workers, observe, quiesce, freeze, thaw and stop them."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.base import ComponentState, Observed, Progress
from aerodrome.runtimes.local import (
    airflow_env,
    contents,
    forks,
    freezing,
    launcher,
    log_levels,
    processes,
    redis,
    triggerers,
    workers,
)
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor
from aerodrome.runtimes.local.wiring import base_env
from aerodrome.settings import Settings

WEB_WAIT = 120.0
# The api-server finishes its requests within a second of SIGTERM but lingers on after; it holds
# the port running tasks report to, so it is not given the full grace.
WEB_STOP_GRACE = 4.0
FORKSERVER_WAIT = 60.0  # it preloads Airflow in a few seconds


class Components:
    def __init__(self, settings: Settings, supervisor: Supervisor, *, has_triggers: Callable[[Placement], bool]):
        self._settings = settings
        self.supervisor = supervisor
        self.workers = workers.WorkerPool(supervisor, drain_limit=settings.worker_drain_timeout)
        self._worker_names: dict[str, list[str]] = {}  # env id -> the workers last converged on
        self._env_locks: dict[str, threading.Lock] = {}
        self._env_locks_lock = threading.Lock()
        self.triggerers = triggerers.OnDemandTriggerers(supervisor, has_triggers=has_triggers,
                                                        lock_of=self._env_lock)
        self.triggerers.start()
        # One client for every health check: httpx.get would build a TLS context (reading the CA
        # bundle, tens of milliseconds of CPU) per call, and checks run every resync per environment.
        self._http = httpx.Client(timeout=3, verify=False)  # plain HTTP to loopback only

    @contextmanager
    def locked(self, placement: Placement) -> Iterator[None]:
        """Hold the environment while converging it (a scale meanwhile answers busy)."""
        with self._env_lock(placement.env_id):
            yield

    def converge(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring, venv: Path, *,
                 progress: Progress | None = None) -> None:
        """Replace only what changed: workers surge (new ones start, old ones drain once the new ones
        consume); every other changed component restarts, one at a time. Call it `locked`."""
        others = airflow_env.components(spec, workers=0)
        # Airflow 3's workers run tasks through the api-server: schedulers start once it answers, so
        # the runs they queue at once (catchup after a resume, say) do not fail for want of it
        last = {n for n, c in others if c == "scheduler"} if airflow_env.is_airflow3(spec.airflow_version) \
            else set()
        ordered = [o for o in others if o[0] not in last] + [o for o in others if o[0] in last]
        started = []

        on_demand = triggerers.on_demand(spec)
        if not on_demand:
            self.triggerers.forget(placement.env_id)

        def replace_others() -> None:
            for name, component in ordered:
                if name in last and "api-server" in started:
                    self._await_web(placement)
                process = self._process(spec, placement, wiring, venv, name, component)
                if component == "triggerer" and on_demand:
                    restarted = self.triggerers.offer(placement, process)  # it starts when triggers appear
                else:
                    restarted = self.supervisor.ensure(process)
                if restarted:
                    started.append(name)
                    if progress:
                        progress(f"started {name}")

        self._converge_forkserver(spec, placement, wiring, venv, progress=progress)
        forced = spec.worker_replacement_strategy == "FORCED"  # MWAA's: replace without waiting for tasks
        self._converge_workers(spec, placement, wiring, venv, progress=progress, meanwhile=replace_others,
                               drain_limit=0.0 if forced else None)
        keep = {_key(placement, n) for n, _ in others} | {_key(placement, forks.NAME)}
        for name in self.supervisor.names(f"{placement.env_id}/"):
            if name not in keep and not workers.NAME.match(name.rsplit("/", 1)[-1]) \
                    and name != _key(placement, redis.NAME):
                self.supervisor.stop(name)

    def scale(self, spec: EnvironmentSpec, placement: Placement, count: int,
              wire: Callable[[], tuple[airflow_env.Wiring, Path]], *, progress: Progress | None = None) -> bool:
        """Run `count` workers (scale-in drains); False if the environment is busy converging.
        `wire()` gives the wiring and venv once the environment is held."""
        lock = self._env_lock(placement.env_id)
        if not lock.acquire(blocking=False):
            return False
        try:
            workers.record_count(placement.root / "run", count)
            wiring, venv = wire()
            self._converge_workers(spec, placement, wiring, venv, progress=progress)
            return True
        finally:
            lock.release()

    def worker_count(self, spec: EnvironmentSpec, placement: Placement) -> int:
        return workers.count(spec, placement.root / "run")

    def worker_pids(self, placement: Placement) -> tuple[list[int], list[int]]:
        """(pids of serving workers, pids of draining workers)."""
        serving = [self.supervisor.state(_key(placement, n))[1] for n in self._workers_of(placement)]
        return [p for p in serving if p], self.workers.draining(placement.env_id)

    def observe(self, spec: EnvironmentSpec, placement: Placement) -> Observed:
        states = []
        names = [n for n, _ in airflow_env.components(spec, workers=0)] + self._workers_of(placement)
        for name in names:
            running, pid, restarts = self.supervisor.state(_key(placement, name))
            states.append(ComponentState(name=name, running=running, pid=pid, restarts=restarts,
                                         log=_log(placement, name)))
        if freezing.since(placement) is not None:
            return Observed(tuple(states), healthy=False, frozen=True, detail="asleep: its processes are frozen")
        on_demand = triggerers.on_demand(spec)
        down = [s for s in states if not s.running and not (on_demand and s.name == "triggerer")]
        for state in down:
            if self.supervisor.recent_exits(_key(placement, state.name))[-1:] == [launcher.SCRIPT_FAILED]:
                script_log = _startup_log(placement, state.name)
                return Observed(tuple(states), healthy=False, failed=True,
                                detail=f"the startup script failed on {state.name}: {processes.tail(script_log)}")
        if down:
            first = down[0]
            return Observed(tuple(states), healthy=False,
                            detail=f"{first.name} is not running (restarted {first.restarts} times): "
                                   f"{processes.tail(first.log)} (log: {first.log})")
        healthy, detail = _health(self._http, spec, placement, triggerer=not on_demand)
        scripted = [s.name for s in states if processes.in_startup_script(s.pid)]
        if not healthy and scripted:
            detail = (f"the startup script is still running on {', '.join(scripted)} "
                      f"(log: {_startup_log(placement, scripted[0])})")
        return Observed(tuple(states), healthy=healthy, detail=detail)

    def quiesce(self, spec: EnvironmentSpec, placement: Placement) -> None:
        processes.parallel(self.supervisor.stop, [_key(placement, n) for n, component
                                                  in airflow_env.components(spec) if component == "scheduler"])

    def freeze(self, placement: Placement) -> None:
        """Idle sleep: every process of the environment stops where it stands (its broker keeps
        running; it costs next to nothing and the control plane reads it). Call it `locked`."""
        broker = _key(placement, redis.NAME)
        pids = [self.supervisor.state(name)[1] for name in self.supervisor.names(f"{placement.env_id}/")
                if name != broker]
        freezing.freeze(placement, [pid for pid in pids if pid])

    def thaw(self, placement: Placement) -> None:
        """The frozen processes go on where they stood. Call it `locked`."""
        freezing.thaw(placement)

    def stop(self, placement: Placement) -> None:
        self.triggerers.forget(placement.env_id)
        processes.parallel(self.supervisor.stop, self.supervisor.names(f"{placement.env_id}/"))
        freezing.thaw(placement)  # what a control plane before this one froze and did not know of
        self.supervisor.drains.stop(f"{placement.env_id}/")
        self._worker_names.pop(placement.env_id, None)
        workers.forget_count(placement.root / "run")  # a stopped environment starts again at MinWorkers
        processes.kill_leftovers(placement)

    def close(self) -> None:
        """Stop every environment's processes in parallel, then the host's (PostgreSQL, Redis)."""
        self.triggerers.close()
        processes.parallel(self.supervisor.stop, [n for n in self.supervisor.names() if not n.startswith("host/")])
        self.supervisor.close()
        self._http.close()

    # --- internals ---------------------------------------------------------------------------
    def _converge_forkserver(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring,
                             venv: Path, *, progress: Progress | None) -> None:
        """Run the environment's fork server (forks.py) before its components, or none."""
        key = _key(placement, forks.NAME)
        if not forks.wanted(spec, placement, startup_script=_staged(spec, placement).startup_script is not None):
            self.supervisor.stop(key)
            return
        forks.prepare(placement, wiring.user)
        env = airflow_env.component_env(spec, placement, wiring, component=forks.NAME, base=base_env(venv))
        env.update(_staged(spec, placement).env())
        argv = forks.argv(placement, python=venv / "bin" / "python")
        fingerprint = hashlib.sha256(json.dumps([argv, sorted(env.items())]).encode()).hexdigest()
        process = ProcessSpec(name=key, argv=argv, env=env, cwd=placement.root, log_file=_log(placement, forks.NAME),
                              pid_file=placement.root / "run" / f"{forks.NAME}.pid", fingerprint=fingerprint,
                              user=wiring.user, group_only=True)
        if self.supervisor.ensure(process) and progress:
            progress("started the fork server")
        # what starts before it listens starts on its own (supervisor._forked), so this only waits
        forks.await_ready(forks.socket_path(placement), timeout=FORKSERVER_WAIT,
                          running=lambda: self.supervisor.state(key)[0])

    def _converge_workers(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring,
                          venv: Path, *, progress: Progress | None, meanwhile: Callable[[], None] | None = None,
                          drain_limit: float | None = None) -> None:
        run_dir = placement.root / "run"
        names = self.workers.converge(
            placement.env_id, run_dir, workers.count(spec, run_dir),
            lambda name: self._process(spec, placement, wiring, venv, name, "worker"),
            progress=progress, meanwhile=meanwhile, drain_limit=drain_limit)
        self._worker_names[placement.env_id] = names

    def _workers_of(self, placement: Placement) -> list[str]:
        known = self._worker_names.get(placement.env_id)
        return known if known is not None else sorted(workers.recorded_names(placement.root / "run"))

    def _env_lock(self, env_id: str) -> threading.Lock:
        with self._env_locks_lock:
            return self._env_locks.setdefault(env_id, threading.Lock())

    def _process(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring, venv: Path,
                 name: str, component: str) -> ProcessSpec:
        env = airflow_env.component_env(spec, placement, wiring, component=component, base=base_env(venv))
        staged = _staged(spec, placement)
        env.update(staged.env())
        env.update(log_levels.level_env(spec, component))
        argv = airflow_env.argv(spec, placement, name, env_id=placement.env_id, venv=venv)
        argv = contents.wrap_startup(staged, spec, argv, env, python=venv / "bin" / "python",
                                     log=_startup_log(placement, name),
                                     timeout=self._settings.startup_script_timeout)
        # a worker's fingerprint leaves out its own name, so a replacement matches its configuration
        described = json.dumps([argv, sorted(env.items())])
        fingerprint = hashlib.sha256((described.replace(name, "<worker>") if component == "worker"
                                      else described).encode()).hexdigest()
        forked = forks.wanted(spec, placement, startup_script=staged.startup_script is not None)
        return ProcessSpec(name=_key(placement, name), argv=argv, env=env, cwd=placement.root,
                           log_file=_log(placement, name),
                           pid_file=placement.root / "run" / f"{name}.pid", fingerprint=fingerprint,
                           user=wiring.user,
                           stop_grace=WEB_STOP_GRACE if component == "webserver" else None,
                           forkserver=forks.socket_path(placement) if forked else None)

    def _await_web(self, placement: Placement) -> None:
        """Until the web server answers HTTP at all (at most WEB_WAIT seconds; then go on regardless).
        Not while it is down (its startup script failed, say): the update fails on that anyway."""
        deadline = time.monotonic() + WEB_WAIT
        while time.monotonic() < deadline:
            if not self.supervisor.state(_key(placement, "api-server"))[0]:
                return
            try:
                self._http.get(f"http://127.0.0.1:{placement.web_port}/api/v2/version")
                return
            except httpx.HTTPError:
                time.sleep(1)


def _health(http: httpx.Client, spec: EnvironmentSpec, placement: Placement, *,
            triggerer: bool) -> tuple[bool, str]:
    """Whether Airflow reports itself healthy (the triggerer's part only when it always runs)."""
    path = "/api/v2/monitor/health" if airflow_env.is_airflow3(spec.airflow_version) else "/health"
    url = f"http://127.0.0.1:{placement.web_port}{path}"
    try:
        body = http.get(url).json()
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"the web server does not answer yet ({type(exc).__name__})"
    parts = ("metadatabase", "scheduler", "dag_processor") + (("triggerer",) if triggerer else ())
    unhealthy = [p for p in parts if p in body and (body[p] or {}).get("status") != "healthy"]
    if unhealthy:
        return False, f"Airflow reports {', '.join(unhealthy)} unhealthy"
    return True, ""


def _staged(spec: EnvironmentSpec, placement: Placement) -> contents.Staged:
    staged = contents.staged(spec, placement)
    if staged is None:
        raise errors.Temporary("the environment's plugins, requirements and startup script are not staged yet")
    return staged


def _key(placement: Placement, name: str) -> str:
    return f"{placement.env_id}/{name}"


def _startup_log(placement: Placement, name: str) -> Path:
    return placement.logs_dir / "startup_script_execution" / f"{name}.log"


def _log(placement: Placement, name: str) -> Path:
    return placement.logs_dir / f"{name}.log"
