"""LocalDriver: environments as supervised OS processes on this host. It only builds the local
runtime's parts and hands each RuntimeDriver call to the part that does it."""

from __future__ import annotations

import functools
import secrets
import shutil
import subprocess
from collections.abc import Collection
from pathlib import Path
from urllib.parse import quote

from aerodrome.domain.idle_sleep import RunFacts
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.base import Observed, ParseReport, Progress
from aerodrome.runtimes.local import airflow_env, contents, freezing, parse_requests, plugins, teams, web_login
from aerodrome.runtimes.local.broker_door import BrokerDoors, Certificates
from aerodrome.runtimes.local.cli_bridge import CliBridge
from aerodrome.runtimes.local.components import Components
from aerodrome.runtimes.local.databases import Databases
from aerodrome.runtimes.local.dumps import LocalDumps, dump_counts
from aerodrome.runtimes.local.fab import FabUsers
from aerodrome.runtimes.local.os_users import OsUsers
from aerodrome.runtimes.local.placement import HostPlacements
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.runtimes.local.queries import Queries
from aerodrome.runtimes.local.redis import Brokers
from aerodrome.runtimes.local.supervisor import Supervisor
from aerodrome.runtimes.local.tasks import TaskCounts
from aerodrome.runtimes.local.version_change import LocalVersionChange
from aerodrome.runtimes.local.versions_ready import ReadyVersions
from aerodrome.runtimes.local.wiring import EnvironmentWiring, role_token_file, statsd_prefix_file
from aerodrome.settings import Settings


class LocalDriver:
    def __init__(self, settings: Settings, *, door_certificates: Certificates | None = None):
        self._settings = settings
        self.supervisor = Supervisor()
        self.postgres = Postgres(settings, self.supervisor)
        self.brokers = Brokers(settings, self.supervisor)
        self.broker_doors = BrokerDoors(settings, certificates=door_certificates)
        self._databases = databases = Databases(self.postgres)
        self._placements = HostPlacements(settings)
        self._versions = ReadyVersions(venvs_dir=settings.venvs_dir, postgres=self.postgres, databases=databases,
                                       brokers=self.brokers)
        self.users = OsUsers(settings)
        self._wiring = EnvironmentWiring(databases=databases, brokers=self.brokers, users=self.users,
                                         api_url=settings.local_api_url, region=settings.region,
                                         ca_bundle=settings.tls_dir / "bundle.pem" if settings.web_tls else None,
                                         statsd_port=settings.statsd_port)
        self._dumps = LocalDumps(postgres=self.postgres, databases=databases, brokers=self.brokers,
                                 stop=self.stop)
        self._cli = CliBridge(versions=self._versions, wiring=self._wiring)
        self._fab = FabUsers(self._cli)
        self._queries = Queries(self.postgres)
        self._tasks = TaskCounts(self._queries)
        self.components = Components(settings, self.supervisor, has_triggers=self._tasks.has_triggers)
        self._version_change = LocalVersionChange(postgres=self.postgres, versions=self._versions,
                                                  venvs_dir=settings.venvs_dir)

    # --- placement -------------------------------------------------------------------------------
    def place(self, existing: Collection[Placement]) -> Placement:
        return self._placements.place(existing)

    # --- converging ----------------------------------------------------------------------------
    def prepare(self, spec: EnvironmentSpec, *, progress: Progress | None = None) -> None:
        self._versions.get(spec.airflow_version, progress)

    def stage(self, spec: EnvironmentSpec, placement: Placement, fetch: contents.Fetch, *,
              progress: Progress | None = None) -> None:
        venv, _ = self._versions.get(spec.airflow_version, progress)
        contents.stage(spec, placement, fetch, venvs_dir=self._settings.venvs_dir, venv=venv, progress=progress,
                       limits=plugins.Limits(self._settings.plugins_max_bytes, self._settings.plugins_max_files))

    def ensure(self, spec: EnvironmentSpec, placement: Placement, *, progress: Progress | None = None) -> None:
        venv, template = self._versions.get(spec.airflow_version, progress)
        with self.components.locked(placement):
            self._dumps.apply_pending(placement, progress=progress)  # a loaded snapshot, before anything starts
            wiring = self._wiring.wire(placement, template)
            if not airflow_env.is_airflow3(spec.airflow_version):
                self._fab.ensure_admin(spec, placement, wiring, venv)
            # the teams exist before the dag-processor reads the bundles they own
            teams.ensure(functools.partial(self._cli.run, spec, placement), spec, placement)
            self.components.converge(spec, placement, wiring, venv, progress=progress)
        self.reopen_broker_door(placement)

    def observe(self, spec: EnvironmentSpec, placement: Placement) -> Observed:
        return self.components.observe(spec, placement)

    def stop(self, placement: Placement) -> None:
        self.components.stop(placement)
        self.users.kill(placement)  # nothing of the environment outlives its stop (a task's daemon, say)

    def quiesce(self, spec: EnvironmentSpec, placement: Placement) -> None:
        self.components.quiesce(spec, placement)

    def freeze(self, placement: Placement) -> None:
        with self.components.locked(placement):
            self.components.freeze(placement)

    def thaw(self, placement: Placement) -> None:
        with self.components.locked(placement):
            self.components.thaw(placement)

    def frozen_since(self, placement: Placement) -> float | None:
        return freezing.since(placement)

    def deepen(self, placement: Placement) -> bool:
        with self.components.locked(placement):  # a wake thaws under the same lock: one or the other
            if freezing.since(placement) is None:
                return False
            self.stop(placement)
            return True

    def refresh_next_runs(self, spec: EnvironmentSpec, placement: Placement) -> None:
        self._cli.refresh_next_runs(spec, placement)

    def request_parse(self, spec: EnvironmentSpec, placement: Placement, *, team: str | None,
                      changed: Collection[str], removed: Collection[str]) -> None:
        parse_requests.request(self._queries, spec, placement, team=team, changed=changed, removed=removed)

    def delete(self, placement: Placement) -> None:
        self.broker_doors.shut(placement)
        self.stop(placement)
        self._queries.close(placement.env_id)
        self.postgres.ensure_running()
        self._databases.drop(placement.env_id)
        self.brokers.flush(placement)  # an external server's database (the embedded one stopped with the rest)
        shutil.rmtree(placement.root, ignore_errors=True)
        self.users.remove(placement)

    def close(self) -> None:
        self.broker_doors.close()
        self._queries.close()
        self.components.close()

    # --- remote worker hosts --------------------------------------------------------------------
    def admit_worker_host(self, placement: Placement, user: str, *, queue: str) -> dict[str, str]:
        password = secrets.token_urlsafe(32)
        self.brokers.admit_host(placement, user, password, queue=queue)
        address, port, ca = self.broker_doors.open(placement)
        return {"BrokerUrl": f"rediss://{user}:{quote(password, safe='')}@{address}:{port}/0", "BrokerCa": ca}

    def reopen_broker_door(self, placement: Placement) -> None:
        """After a restart of the control plane: the door opens again, on its port, for the hosts let in."""
        if self.brokers.has_hosts(placement):
            self.broker_doors.open(placement)

    def dismiss_worker_host(self, placement: Placement, user: str) -> None:
        self.brokers.dismiss_host(placement, user)

    # --- tasks and workers -----------------------------------------------------------------------
    def active_tasks(self, placement: Placement) -> int:
        return self._tasks.active(placement)

    def run_facts(self, spec: EnvironmentSpec, placement: Placement) -> RunFacts:
        return self._tasks.run_facts(spec, placement)

    def task_counts(self, placement: Placement) -> tuple[int, int]:
        return self._tasks.queued_running(placement)

    def database_figures(self, placement: Placement) -> dict[str, float]:
        return self._databases.figures(placement.env_id)

    def worker_count(self, spec: EnvironmentSpec, placement: Placement) -> int:
        return self.components.worker_count(spec, placement)

    def scale(self, spec: EnvironmentSpec, placement: Placement, count: int, *,
              progress: Progress | None = None) -> bool:
        def wire() -> tuple[airflow_env.Wiring, Path]:
            venv, template = self._versions.get(spec.airflow_version, progress)
            return self._wiring.wire(placement, template), venv

        return self.components.scale(spec, placement, count, wire, progress=progress)

    def worker_pids(self, placement: Placement) -> tuple[list[int], list[int]]:
        """(serving, draining) worker pids: the local runtime's own, for tests and tools."""
        return self.components.worker_pids(placement)

    # --- the metadata database -------------------------------------------------------------------
    def dump_database(self, placement: Placement, path: Path) -> None:
        self._dumps.dump_database(placement, path)

    def restore_database(self, placement: Placement, path: Path) -> None:
        self._dumps.restore_database(placement, path)

    def dump_counts(self, path: Path) -> dict[str, int]:
        return dump_counts(path)

    def role_token(self, placement: Placement) -> str | None:
        path = role_token_file(placement)
        return path.read_text().strip() if path.exists() else None

    def statsd_prefix(self, placement: Placement) -> str | None:
        path = statsd_prefix_file(placement)
        return path.read_text().strip() if path.exists() else None

    def database_secrets(self, placement: Placement) -> dict[str, str]:
        return self._dumps.database_secrets(placement)

    def stage_restore(self, placement: Placement, *, dump: Path, secrets: dict[str, str], expected: dict,
                      snapshot_id: str) -> None:
        self._dumps.stage_restore(placement, dump=dump, secrets=secrets, expected=expected, snapshot_id=snapshot_id)

    def restore_pending(self, placement: Placement) -> bool:
        return self._dumps.restore_pending(placement)

    def restore_result(self, placement: Placement) -> dict | None:
        return self._dumps.restore_result(placement)

    def clear_restore(self, placement: Placement) -> None:
        self._dumps.clear_restore(placement)

    # --- version changes -------------------------------------------------------------------------
    def prepare_version_change(self, current: str, target: str, *, progress: Progress | None = None) -> None:
        self._version_change.prepare(current, target, progress=progress)

    def change_schema(self, current: str, target: str, placement: Placement, *, log: Path) -> None:
        self._version_change.change_schema(current, target, placement, log=log)

    def parse_report(self, placement: Placement, *, since: float) -> ParseReport:
        return self._version_change.parse_report(placement, since=since)

    # --- access ----------------------------------------------------------------------------------
    def airflow_cli(self, spec: EnvironmentSpec, placement: Placement, *args: str,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self._cli.run(spec, placement, *args, timeout=timeout)

    def web_login(self, placement: Placement) -> tuple[str, str]:
        return web_login.admin_login(placement)

    def api_token(self, placement: Placement, *, username: str, role: str, ttl: float,
                  teams: list[str] | None = None) -> str:
        return web_login.airflow_token(placement, username=username, role=role, ttl=ttl, teams=teams)

    def role_login(self, spec: EnvironmentSpec, placement: Placement, role: str) -> tuple[str, str]:
        return self._fab.role_login(spec, placement, role)

    def role_session(self, spec: EnvironmentSpec, placement: Placement, role: str) -> str:
        return self._fab.role_session(spec, placement, role)
