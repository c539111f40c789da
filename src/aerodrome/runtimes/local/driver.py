"""LocalDriver: environments as supervised OS processes on this host."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from aerodrome import errors
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes import endpoints
from aerodrome.runtimes.base import ComponentState, Observed, Placement, Progress
from aerodrome.runtimes.local import (airflow_env, contents, files, launcher, log_levels, plugins, processes, schema,
                                      venvs, workers)
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.runtimes.local.redis import Redis
from aerodrome.runtimes.local.snapshots import LocalSnapshots
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor
from aerodrome.settings import Settings

LOG_TAIL = processes.LOG_TAIL
WEB_WAIT = 120.0
# The api-server finishes its requests within a second of SIGTERM but lingers on after; it holds
# the port running tasks report to, so it is not given the full grace.
WEB_STOP_GRACE = 4.0
log = logging.getLogger(__name__)


class LocalDriver:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.supervisor = Supervisor()
        self.postgres = Postgres(settings, self.supervisor)
        self.redis = Redis(settings, self.supervisor)
        self.snapshots = LocalSnapshots(postgres=self.postgres, redis=self.redis, stop=self._stop_env)
        self._prepared: dict[str, tuple[Path, str]] = {}  # version -> (venv, template database)
        self._lock = threading.Lock()
        self.workers = workers.WorkerPool(self.supervisor, drain_limit=settings.worker_drain_timeout)
        self._worker_names: dict[str, list[str]] = {}  # env id -> the workers last converged on
        self._env_locks: dict[str, threading.Lock] = {}
        self._env_locks_lock = threading.Lock()

    # --- RuntimeDriver -----------------------------------------------------------------------
    def prepare(self, spec: EnvironmentSpec, *, progress: Progress | None = None) -> None:
        self._prepare(spec.airflow_version, progress)

    def stage(self, spec: EnvironmentSpec, placement: Placement, fetch: contents.Fetch, *,
              progress: Progress | None = None) -> None:
        """Fetch and check the spec's plugins, requirements and startup script (the pre-flight)."""
        venv, _ = self._prepare(spec.airflow_version, progress)
        contents.stage(spec, placement, fetch, venvs_dir=self._settings.venvs_dir, venv=venv, progress=progress,
                       limits=plugins.Limits(self._settings.plugins_max_bytes, self._settings.plugins_max_files))

    def ensure(self, spec: EnvironmentSpec, placement: Placement, *, progress: Progress | None = None) -> None:
        """Replace only what changed: workers surge (new ones start, old ones drain once the new ones
        consume); every other changed component restarts, one at a time."""
        venv, template = self._prepare(spec.airflow_version, progress)
        with self._env_lock(placement.env_id):
            self.snapshots.apply_pending(placement, progress=progress)  # a loaded snapshot, before anything starts
            wiring = self._wiring(placement, template)
            if not airflow_env.is_airflow3(spec.airflow_version):
                self._ensure_fab_admin(spec, placement, wiring, venv)
            others = airflow_env.components(spec, workers=0)
            # Airflow 3's workers run tasks through the api-server: schedulers start once it answers, so
            # the runs they queue at once (catchup after a resume, say) do not fail for want of it
            last = {n for n, c in others if c == "scheduler"} if airflow_env.is_airflow3(spec.airflow_version) \
                else set()
            ordered = [o for o in others if o[0] not in last] + [o for o in others if o[0] in last]
            started = []

            def replace_others() -> None:
                for name, component in ordered:
                    if name in last and "api-server" in started:
                        self._await_web(placement)
                    if self.supervisor.ensure(self._process(spec, placement, wiring, venv, name, component)):
                        started.append(name)
                        if progress:
                            progress(f"started {name}")

            forced = spec.worker_replacement_strategy == "FORCED"  # MWAA's: replace without waiting for tasks
            self._converge_workers(spec, placement, wiring, venv, progress=progress, meanwhile=replace_others,
                                   drain_limit=0.0 if forced else None)
            keep = {self._key(placement, n) for n, _ in others}
            for name in self.supervisor.names(f"{placement.env_id}/"):
                if name not in keep and not workers.NAME.match(name.rsplit("/", 1)[-1]):
                    self.supervisor.stop(name)

    def scale(self, spec: EnvironmentSpec, placement: Placement, count: int, *,
              progress: Progress | None = None) -> bool:
        """Run `count` workers (scale-in drains); False if the environment is busy with an ensure."""
        lock = self._env_lock(placement.env_id)
        if not lock.acquire(blocking=False):
            return False
        try:
            workers.record_count(placement.root / "run", count)
            venv, template = self._prepare(spec.airflow_version, progress)
            self._converge_workers(spec, placement, self._wiring(placement, template), venv, progress=progress)
            return True
        finally:
            lock.release()

    def worker_count(self, spec: EnvironmentSpec, placement: Placement) -> int:
        return workers.count(spec, placement.root / "run")

    def worker_pids(self, placement: Placement) -> tuple[list[int], list[int]]:
        """(pids of serving workers, pids of draining workers)."""
        serving = [self.supervisor.state(self._key(placement, n))[1] for n in self._workers_of(placement)]
        return [p for p in serving if p], self.workers.draining(placement.env_id)

    def _converge_workers(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring,
                          venv: Path, *, progress: Progress | None, meanwhile=None,
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

    def observe(self, spec: EnvironmentSpec, placement: Placement) -> Observed:
        states = []
        names = [n for n, _ in airflow_env.components(spec, workers=0)] + self._workers_of(placement)
        for name in names:
            key = self._key(placement, name)
            running, pid, restarts = self.supervisor.state(key)
            states.append(ComponentState(name=name, running=running, pid=pid, restarts=restarts,
                                         log=self._log(placement, name)))
        down = [s for s in states if not s.running]
        for state in down:
            if self.supervisor.recent_exits(self._key(placement, state.name))[-1:] == [launcher.SCRIPT_FAILED]:
                script_log = self._startup_log(placement, state.name)
                return Observed(tuple(states), healthy=False, failed=True,
                                detail=f"the startup script failed on {state.name}: {processes.tail(script_log)}")
        if down:
            first = down[0]
            return Observed(tuple(states), healthy=False,
                            detail=f"{first.name} is not running (restarted {first.restarts} times): "
                                   f"{processes.tail(first.log)} (log: {first.log})")
        healthy, detail = self._health(spec, placement)
        scripted = [s.name for s in states if processes.in_startup_script(s.pid)]
        if not healthy and scripted:
            detail = (f"the startup script is still running on {', '.join(scripted)} "
                      f"(log: {self._startup_log(placement, scripted[0])})")
        return Observed(tuple(states), healthy=healthy, detail=detail)

    def stop(self, placement: Placement) -> None:
        self._stop_env(placement)

    def quiesce(self, spec: EnvironmentSpec, placement: Placement) -> None:
        processes.parallel(self.supervisor.stop, [self._key(placement, n) for n, component in airflow_env.components(spec)
                                         if component == "scheduler"])

    def refresh_next_runs(self, spec: EnvironmentSpec, placement: Placement) -> None:
        """`airflow dags reserialize` parses every DAG and writes its next run computed from now: without
        it the scheduler first creates the run that was next when it stopped, even for catchup=False."""
        try:
            done = self.airflow_cli(spec, placement, "dags", "reserialize", timeout=300)
            failure = done.stderr.strip()[-LOG_TAIL:] if done.returncode != 0 else ""
        except subprocess.TimeoutExpired:
            failure = "it took longer than 300 s"
        if failure:
            log.warning("%s: refreshing next runs failed, so a catchup=False DAG may run one missed interval: %s",
                        placement.env_id, failure)

    def active_tasks(self, placement: Placement) -> int:
        self.postgres.ensure_running()
        count = self.postgres.sql("SELECT count(*) FROM task_instance WHERE state IN ('queued', 'running')",
                                  database=f"env_{placement.env_id}")
        return int(count or 0)

    def task_counts(self, placement: Placement) -> tuple[int, int]:
        self.postgres.ensure_running()
        counts = self.postgres.sql("SELECT count(*) FILTER (WHERE state = 'queued'), "
                                   "count(*) FILTER (WHERE state = 'running') FROM task_instance "
                                   "WHERE state IN ('queued', 'running')", database=f"env_{placement.env_id}")
        queued, _, running = (counts or "0|0").partition("|")
        return int(queued or 0), int(running or 0)

    # --- version changes (runtimes/local/schema.py) -------------------------------------------
    def snapshot(self, placement: Placement, path: Path) -> None:
        self.postgres.ensure_running()
        self.postgres.dump_env_database(placement.env_id, path)

    def restore(self, placement: Placement, path: Path) -> None:
        self.postgres.ensure_running()
        self.postgres.restore_env_database(placement.env_id, path, placement.root / "secrets" / "db.secret")
        schema.set_aside_config(placement.root / "airflow_home", "before-restore")

    def prepare_move(self, current: str, target: str, *, progress: Progress | None = None) -> None:
        current_venv, _ = self._prepare(current, progress)
        schema.tools(current=current, target=target, current_venv=current_venv,
                     venvs_dir=self._settings.venvs_dir, progress=progress)

    def move_schema(self, current: str, target: str, placement: Placement, *, log: Path) -> None:
        (current_venv, _), (target_venv, _) = self._prepare(current, None), self._prepare(target, None)
        url = self.postgres.url(f"env_{placement.env_id}", user=f"env_{placement.env_id}",
                                password=files.secret(placement.root / "secrets" / "db.secret"))
        extra = schema.tools(current=current, target=target, current_venv=current_venv,
                             venvs_dir=self._settings.venvs_dir)
        schema.move(current=current, target=target, current_venv=current_venv, target_venv=target_venv,
                    database_url=url, log=log, extra_path=extra,
                    sql=lambda statement: self.postgres.sql(f"SET ROLE env_{placement.env_id}; {statement}",
                                                            database=f"env_{placement.env_id}"))
        schema.set_aside_config(placement.root / "airflow_home", f"airflow-{current}")

    def parse_report(self, placement: Placement, *, since: float) -> schema.ParseReport:
        self.postgres.ensure_running()
        return schema.parse_report(lambda sql: self.postgres.sql(sql, database=f"env_{placement.env_id}"),
                                   dags_dir=placement.dags_dir, since=since)

    def delete(self, placement: Placement) -> None:
        self._stop_env(placement)
        self.postgres.ensure_running()
        self.redis.ensure_running()
        self.postgres.drop_env_database(placement.env_id)
        self.redis.flush(placement.broker_db)
        shutil.rmtree(placement.root, ignore_errors=True)

    def close(self) -> None:
        """Stop every environment's processes in parallel, then PostgreSQL and Redis."""
        processes.parallel(self.supervisor.stop, [n for n in self.supervisor.names() if not n.startswith("host/")])
        self.supervisor.close()

    # --- extras for the CLI and tests --------------------------------------------------------
    def web_login(self, placement: Placement) -> tuple[str, str]:
        passwords = json.loads((placement.root / "secrets" / "passwords.json").read_text())
        return "admin", passwords["admin"]

    def airflow_cli(self, spec: EnvironmentSpec, placement: Placement, *args: str,
                    timeout: float = 120) -> subprocess.CompletedProcess:
        """Run `airflow ARGS` with the environment's configuration (as its scheduler sees it)."""
        venv, template = self._prepare(spec.airflow_version, None)
        env = airflow_env.component_env(spec, placement, self._wiring(placement, template),
                                        component="scheduler", base=_base_env(venv))
        env.update((contents.staged(spec, placement) or contents.Staged(placement.root / "plugins")).env())
        return subprocess.run([str(venv / "bin" / "airflow"), *args], env=env, capture_output=True,
                              text=True, timeout=timeout)

    # --- internals ---------------------------------------------------------------------------
    def _ensure_fab_admin(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring,
                          venv: Path) -> None:
        """Airflow 2's webserver logs users in through FAB: create the admin user once."""
        marker = placement.root / "secrets" / "fab-admin.done"
        if marker.exists():
            return
        _, password = self.web_login(placement)
        env = airflow_env.component_env(spec, placement, wiring, component="scheduler", base=_base_env(venv))
        result = subprocess.run([str(venv / "bin" / "airflow"), "users", "create", "--role", "Admin", "--username",
                                 "admin", f"--password={password}", "--firstname", "Admin", "--lastname", "User",
                                 "--email", "admin@localhost"], env=env, capture_output=True, text=True)
        if result.returncode != 0 and "already exist" not in result.stdout + result.stderr:
            raise errors.Permanent(f"creating the Airflow admin user failed: {result.stderr.strip()[-LOG_TAIL:]}")
        marker.write_text("ok")

    def _prepare(self, version: str, progress: Progress | None) -> tuple[Path, str]:
        with self._lock:
            if version in self._prepared:
                return self._prepared[version]
            venv = venvs.ensure_venv(self._settings.venvs_dir, version, progress=progress)
            self.postgres.ensure_running()
            self.redis.ensure_running()
            if progress:
                progress(f"preparing the Airflow {version} template database")
            template = self.postgres.ensure_template(version, migrate=lambda url: _migrate(venv, url))
            self._prepared[version] = (venv, template)
            return venv, template

    def _wiring(self, placement: Placement, template: str) -> airflow_env.Wiring:
        secrets_dir = placement.root / "secrets"
        for folder in ("dags", "plugins", "logs", "airflow_home"):
            (placement.root / folder).mkdir(parents=True, exist_ok=True)
        database_url = self.postgres.create_env_database(placement.env_id, template, secrets_dir / "db.secret")
        passwords = secrets_dir / "passwords.json"
        files.secret(passwords, make=lambda: json.dumps({"admin": base64.urlsafe_b64encode(os.urandom(12)).decode()}))
        endpoints.write(placement.root, broker_url=self.redis.url(placement.broker_db), database_url=database_url)
        return airflow_env.Wiring(
            database_url=database_url,
            broker_url=self.redis.url(placement.broker_db),
            fernet_key=files.secret(secrets_dir / "fernet.secret",
                                    make=lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()),
            jwt_secret=files.secret(secrets_dir / "jwt.secret"),
            web_secret=files.secret(secrets_dir / "web.secret"),
            passwords_file=str(passwords),
        )

    def _process(self, spec: EnvironmentSpec, placement: Placement, wiring: airflow_env.Wiring, venv: Path,
                 name: str, component: str) -> ProcessSpec:
        env = airflow_env.component_env(spec, placement, wiring, component=component, base=_base_env(venv))
        staged = _staged(spec, placement)
        env.update(staged.env())
        env.update(log_levels.level_env(spec, component))
        argv = [str(venv / "bin" / "airflow"), *airflow_env.command(spec, placement, name, env_id=placement.env_id)]
        argv = contents.wrap_startup(staged, spec, argv, env, python=venv / "bin" / "python",
                                     log=self._startup_log(placement, name),
                                     timeout=self._settings.startup_script_timeout)
        # a worker's fingerprint leaves out its own name, so a replacement matches its configuration
        described = json.dumps([argv, sorted(env.items())])
        fingerprint = hashlib.sha256((described.replace(name, "<worker>") if component == "worker"
                                      else described).encode()).hexdigest()
        return ProcessSpec(name=self._key(placement, name), argv=argv, env=env, cwd=placement.root,
                           log_file=self._log(placement, name),
                           pid_file=placement.root / "run" / f"{name}.pid", fingerprint=fingerprint,
                           stop_grace=WEB_STOP_GRACE if component == "webserver" else None)

    def _health(self, spec: EnvironmentSpec, placement: Placement) -> tuple[bool, str]:
        path = "/api/v2/monitor/health" if airflow_env.is_airflow3(spec.airflow_version) else "/health"
        url = f"http://127.0.0.1:{placement.web_port}{path}"
        try:
            body = httpx.get(url, timeout=3).json()
        except (httpx.HTTPError, ValueError) as exc:
            return False, f"the web server does not answer yet ({type(exc).__name__})"
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        unhealthy = [p for p in parts if p in body and (body[p] or {}).get("status") != "healthy"]
        if unhealthy:
            return False, f"Airflow reports {', '.join(unhealthy)} unhealthy"
        return True, ""

    def _await_web(self, placement: Placement) -> None:
        """Until the web server answers HTTP at all (at most WEB_WAIT seconds; then go on regardless)."""
        deadline = time.monotonic() + WEB_WAIT
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{placement.web_port}/api/v2/version", timeout=3)
                return
            except httpx.HTTPError:
                time.sleep(1)

    def _stop_env(self, placement: Placement) -> None:
        processes.parallel(self.supervisor.stop, self.supervisor.names(f"{placement.env_id}/"))
        self.supervisor.drains.stop(f"{placement.env_id}/")
        self._worker_names.pop(placement.env_id, None)
        workers.forget_count(placement.root / "run")  # a stopped environment starts again at MinWorkers
        processes.kill_leftovers(placement)

    @staticmethod
    def _key(placement: Placement, name: str) -> str:
        return f"{placement.env_id}/{name}"

    @staticmethod
    def _startup_log(placement: Placement, name: str) -> Path:
        return placement.logs_dir / "startup_script_execution" / f"{name}.log"

    @staticmethod
    def _log(placement: Placement, name: str) -> Path:
        return placement.logs_dir / f"{name}.log"


def _staged(spec: EnvironmentSpec, placement: Placement) -> contents.Staged:
    staged = contents.staged(spec, placement)
    if staged is None:
        raise errors.Temporary("the environment's plugins, requirements and startup script are not staged yet")
    return staged


def _base_env(venv: Path) -> dict[str, str]:
    return {"PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": os.environ.get("HOME", "/"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _migrate(venv: Path, url: str) -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**_base_env(venv), "AIRFLOW_HOME": home, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        result = subprocess.run([str(venv / "bin" / "airflow"), "db", "migrate"], env=env,
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise errors.Permanent(f"`airflow db migrate` failed: {result.stderr.strip()[-LOG_TAIL:]}")
