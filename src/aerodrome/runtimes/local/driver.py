"""LocalDriver: environments as supervised OS processes on this host."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import httpx

from aerodrome import errors
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes import endpoints
from aerodrome.runtimes.base import ComponentState, Observed, Placement, Progress
from aerodrome.runtimes.local import airflow_env, contents, files, launcher, log_levels, plugins, schema, venvs
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.runtimes.local.redis import Redis
from aerodrome.runtimes.local.supervisor import ProcessSpec, Supervisor
from aerodrome.settings import Settings

LOG_TAIL = 1200


class LocalDriver:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.supervisor = Supervisor()
        self.postgres = Postgres(settings, self.supervisor)
        self.redis = Redis(settings, self.supervisor)
        self._prepared: dict[str, tuple[Path, str]] = {}  # version -> (venv, template database)
        self._lock = threading.Lock()

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
        venv, template = self._prepare(spec.airflow_version, progress)
        wiring = self._wiring(placement, template)
        if not airflow_env.is_airflow3(spec.airflow_version):
            self._ensure_fab_admin(spec, placement, wiring, venv)
        wanted = airflow_env.components(spec)
        started = []
        for name, component in wanted:
            if self.supervisor.ensure(self._process(spec, placement, wiring, venv, name, component)):
                started.append(name)
        keep = {self._key(placement, n) for n, _ in wanted}
        for name in self.supervisor.names(f"{placement.env_id}/"):
            if name not in keep:
                self.supervisor.stop(name)
        if started and progress:
            progress(f"started {', '.join(started)}")

    def observe(self, spec: EnvironmentSpec, placement: Placement) -> Observed:
        states = []
        for name, _ in airflow_env.components(spec):
            key = self._key(placement, name)
            running, pid, restarts = self.supervisor.state(key)
            states.append(ComponentState(name=name, running=running, pid=pid, restarts=restarts,
                                         log=self._log(placement, name)))
        down = [s for s in states if not s.running]
        for state in down:
            if self.supervisor.recent_exits(self._key(placement, state.name))[-1:] == [launcher.SCRIPT_FAILED]:
                script_log = self._startup_log(placement, state.name)
                return Observed(tuple(states), healthy=False, failed=True,
                                detail=f"the startup script failed on {state.name}: {_tail(script_log)}")
        if down:
            first = down[0]
            return Observed(tuple(states), healthy=False,
                            detail=f"{first.name} is not running (restarted {first.restarts} times): "
                                   f"{_tail(first.log)} (log: {first.log})")
        healthy, detail = self._health(spec, placement)
        scripted = [s.name for s in states if _in_startup_script(s.pid)]
        if not healthy and scripted:
            detail = (f"the startup script is still running on {', '.join(scripted)} "
                      f"(log: {self._startup_log(placement, scripted[0])})")
        return Observed(tuple(states), healthy=healthy, detail=detail)

    def stop(self, placement: Placement) -> None:
        self._stop_env(placement)

    def quiesce(self, spec: EnvironmentSpec, placement: Placement) -> None:
        _parallel(self.supervisor.stop, [self._key(placement, n) for n, component in airflow_env.components(spec)
                                         if component == "scheduler"])

    def active_tasks(self, placement: Placement) -> int:
        self.postgres.ensure_running()
        count = self.postgres.sql("SELECT count(*) FROM task_instance WHERE state IN ('queued', 'running')",
                                  database=f"env_{placement.env_id}")
        return int(count or 0)

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
        _parallel(self.supervisor.stop, [n for n in self.supervisor.names() if not n.startswith("host/")])
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
        fingerprint = hashlib.sha256(json.dumps([argv, sorted(env.items())]).encode()).hexdigest()
        return ProcessSpec(name=self._key(placement, name), argv=argv, env=env, cwd=placement.root,
                           log_file=self._log(placement, name),
                           pid_file=placement.root / "run" / f"{name}.pid", fingerprint=fingerprint)

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

    def _stop_env(self, placement: Placement) -> None:
        _parallel(self.supervisor.stop, self.supervisor.names(f"{placement.env_id}/"))
        _kill_leftovers(placement)

    @staticmethod
    def _key(placement: Placement, name: str) -> str:
        return f"{placement.env_id}/{name}"

    @staticmethod
    def _startup_log(placement: Placement, name: str) -> Path:
        return placement.logs_dir / "startup_script_execution" / f"{name}.log"

    @staticmethod
    def _log(placement: Placement, name: str) -> Path:
        return placement.logs_dir / f"{name}.log"


def _parallel(function, names: list[str]) -> None:
    threads = [threading.Thread(target=function, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


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


def _tail(path: Path | None) -> str:
    if path is None or not path.exists():
        return "no output"
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - LOG_TAIL))
        lines = handle.read().decode(errors="replace").strip().splitlines()
    return " | ".join(lines[-3:]) if lines else "no output"


def _in_startup_script(pid: int | None) -> bool:
    """The process is still the launcher (it becomes Airflow once the startup script has finished)."""
    import psutil

    try:
        return pid is not None and any(part.endswith("launcher.py") for part in psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


def _kill_leftovers(placement: Placement) -> None:
    """Processes of this environment the supervisor no longer knows (e.g. after a crash)."""
    import psutil

    root = str(placement.root)
    for process in psutil.process_iter(["pid", "cwd"]):
        try:
            if process.info["cwd"] and process.info["cwd"].startswith(root):
                process.kill()
        except psutil.Error:
            pass
