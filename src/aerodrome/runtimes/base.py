"""The runtime boundary: what services and the reconciler may ask of a runtime, without knowing how
it runs environments (local processes today; remote hosts or Kubernetes behind the same protocol)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aerodrome.domain.idle_sleep import RunFacts
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ComponentState:
    name: str  # e.g. "scheduler-1", "worker-1", "api-server", "dag-processor", "triggerer"
    running: bool
    pid: int | None = None
    restarts: int = 0
    log: Path | None = None


@dataclass(frozen=True)
class Observed:
    components: tuple[ComponentState, ...] = ()
    healthy: bool = False  # web endpoint answers and the scheduler heartbeats
    detail: str = ""  # why not healthy, in words a person can act on
    extra: dict = field(default_factory=dict)
    failed: bool = False  # a component cannot start (e.g. its startup script failed): waiting will not help
    frozen: bool = False  # asleep: its processes are frozen where they stood (see `freeze`)

    @property
    def running(self) -> bool:
        return any(c.running for c in self.components)

    def crashing(self, *, restarts: int = 3) -> bool:
        """A component cannot start, or has exited `restarts` times and is down again."""
        return self.failed or any(not c.running and c.restarts >= restarts for c in self.components)


@dataclass(frozen=True)
class ParseReport:
    """DAG files (relative to the DAG folder) the DAG processor parsed, and their import errors."""

    parsed: frozenset[str] = frozenset()
    errors: dict[str, str] = field(default_factory=dict)


class Placer(Protocol):
    def place(self, existing: Collection[Placement]) -> Placement:
        """Where a new environment lives: an id, a folder, ports and a broker namespace that no
        placement in `existing` holds. A placement is released by `delete`, once the store forgets it."""


class RuntimeDriver(Placer, Protocol):
    """Everything an environment needs from a runtime. Services and the reconciler know only this."""

    # --- converging ----------------------------------------------------------------------------
    def prepare(self, spec: EnvironmentSpec, *, progress: Progress | None = None) -> None:
        """Make the Airflow version's venv and template database ready (idempotent, slow the first time)."""

    def stage(self, spec: EnvironmentSpec, placement: Placement, fetch: Callable[[set[str]], dict[str, bytes | None]],
              *, progress: Progress | None = None) -> None:
        """Make the spec's plugins, requirements and startup script ready without touching running
        processes (`fetch(kinds)` returns the bytes of the kinds not staged yet). errors.Permanent
        when one of them is broken: this is the pre-flight of a create or update."""

    def ensure(self, spec: EnvironmentSpec, placement: Placement, *, progress: Progress | None = None) -> None:
        """Create what is missing (database, broker namespace, config), restore a staged snapshot load,
        and start/restart components so they run `spec`. Idempotent; re-attaches to processes that
        already run it."""

    def observe(self, spec: EnvironmentSpec, placement: Placement) -> Observed: ...

    def stop(self, placement: Placement) -> None:
        """Stop every process of the environment; keep its database and files."""

    def quiesce(self, spec: EnvironmentSpec, placement: Placement) -> None:
        """Stop scheduling new tasks (schedulers stop); workers and the web server keep running so
        running tasks finish and report. Idempotent."""

    def freeze(self, placement: Placement) -> None:
        """Idle sleep: stop every process where it stands (no CPU; memory, connections and state
        kept), so a wake is instant. `observe` says `frozen` until `thaw` or `stop`."""

    def thaw(self, placement: Placement) -> None:
        """Let frozen processes go on where they stood (nothing when none are frozen)."""

    def frozen_since(self, placement: Placement) -> float | None:
        """When the environment's processes were frozen (seconds since the epoch), or None."""

    def deepen(self, placement: Placement) -> bool:
        """A long idle sleep: stop the frozen processes, releasing their memory (a wake then starts
        them as a resume does). False when nothing was frozen (a wake came first)."""

    def refresh_next_runs(self, spec: EnvironmentSpec, placement: Placement) -> None:
        """Before the schedulers start again after a stop: let Airflow recompute each DAG's next run
        from now, so its catchup setting alone decides the runs missed meanwhile."""

    def request_parse(self, spec: EnvironmentSpec, placement: Placement, *, team: str | None,
                      changed: Collection[str], removed: Collection[str]) -> None:
        """A sync changed these files of the DAG folder (a team's with `team`; paths relative to it):
        have the environment parse them now rather than at its next rescan."""

    def delete(self, placement: Placement) -> None:
        """Stop processes and remove database, broker keys, directories: the placement is free
        again. Idempotent."""

    def close(self) -> None:
        """Stop supervision and every process this driver started (control-plane shutdown)."""

    # --- tasks and workers -----------------------------------------------------------------------
    def active_tasks(self, placement: Placement) -> int:
        """Task instances of the environment that are queued or running."""

    def run_facts(self, spec: EnvironmentSpec, placement: Placement) -> RunFacts:
        """Work running or waiting, the next scheduled run, watched assets (one cheap query; works while
        the environment hibernates, its database stays)."""

    def task_counts(self, placement: Placement) -> tuple[int, int]:
        """(queued, running) task instances of the environment: one cheap query."""

    def database_figures(self, placement: Placement) -> dict[str, float]:
        """Cumulative figures of the environment's metadata database (connections, blocks_read,
        rows_written, read_ms, cpu_seconds); empty when there is no database."""

    def worker_count(self, spec: EnvironmentSpec, placement: Placement) -> int:
        """The Celery workers the environment runs now (the autoscaler's choice within the spec's bounds)."""

    def scale(self, spec: EnvironmentSpec, placement: Placement, count: int, *,
              progress: Progress | None = None) -> bool:
        """Run `count` workers, keeping the count across restarts; a worker removed is drained (it
        finishes its running tasks and exits), never killed. False if the environment is busy."""

    # --- the metadata database -------------------------------------------------------------------
    def dump_database(self, placement: Placement, path: Path) -> None:
        """A consistent copy of the environment's metadata database at `path` (it may keep running)."""

    def restore_database(self, placement: Placement, path: Path) -> None:
        """Replace the environment's metadata database by the dump at `path`."""

    def dump_counts(self, path: Path) -> dict[str, int]:
        """Rows of the tables a snapshot counts (domain.snapshots.COUNTED) inside the dump at `path`."""

    def database_secrets(self, placement: Placement) -> dict[str, str]:
        """The secrets the database depends on (e.g. the Fernet key), by file name."""

    def role_token(self, placement: Placement) -> str | None:
        """The token the environment's processes present for their execution role's credentials."""

    def statsd_prefix(self, placement: Placement) -> str | None:
        """The secret prefix of the StatsD metrics the environment's Airflow sends."""

    def stage_restore(self, placement: Placement, *, dump: Path, secrets: dict[str, str], expected: dict,
                      snapshot_id: str) -> None:
        """A snapshot load: the dump file is moved in; the next `ensure` restores it and `secrets` before
        anything starts and checks the counts against `expected`."""

    def restore_pending(self, placement: Placement) -> bool: ...

    def restore_result(self, placement: Placement) -> dict | None:
        """The outcome of the last staged restore ({"snapshot", "verified", "counts", ...}), until cleared."""

    def clear_restore(self, placement: Placement) -> None: ...

    # --- version changes -------------------------------------------------------------------------
    def prepare_version_change(self, current: str, target: str, *, progress: Progress | None = None) -> None:
        """Make ready what changing the schema from `current` to `target` needs, before anything stops."""

    def change_schema(self, current: str, target: str, placement: Placement, *, log: Path) -> None:
        """Migrate (or downgrade) the stopped environment's database from Airflow `current`'s schema
        to `target`'s; errors.Permanent naming `log` when that fails."""

    def parse_report(self, placement: Placement, *, since: float) -> ParseReport:
        """DAG files parsed since `since` (epoch seconds) and their import errors."""

    # --- access ----------------------------------------------------------------------------------
    def airflow_cli(self, spec: EnvironmentSpec, placement: Placement, *args: str,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `airflow ARGS` with the environment's configuration (as its scheduler sees it)."""

    def web_login(self, placement: Placement) -> tuple[str, str]:
        """(user, password) of the environment's Airflow admin."""

    def api_token(self, placement: Placement, *, username: str, role: str, ttl: float,
                  teams: list[str] | None = None) -> str:
        """Airflow 3: an API token for `username` with MWAA role `role`, signed with the environment's
        JWT secret; errors.AccessDenied for a role Airflow 3 lacks. `teams`: the teams (of the spec's
        `teams`) the person belongs to, which a multi-team environment's auth manager limits them to;
        None outside multi-team mode."""

    def role_login(self, spec: EnvironmentSpec, placement: Placement, role: str) -> tuple[str, str]:
        """Airflow 2: (user, password) of the FAB user of MWAA role `role`, created on first use."""

    def role_session(self, spec: EnvironmentSpec, placement: Placement, role: str) -> str:
        """Airflow 2: the webserver's `session` cookie of `role`'s FAB user, signed in on its form."""


class WorkerHosts(Protocol):
    """What remote worker hosts need from a runtime: a way into the environment's broker."""

    def admit_worker_host(self, placement: Placement, user: str, *, queue: str) -> dict[str, str]:
        """Let the host that is `user` into the environment's broker with a new password, for Celery
        queue `queue` and the task results only; returns
        {"BrokerUrl": "rediss://user:password@address:port/0", "BrokerCa": CA certificate (PEM)}.
        Raises Temporary while the environment's broker is not running, Permanent where hosts cannot join."""

    def dismiss_worker_host(self, placement: Placement, user: str) -> None:
        """Shut the host out of the broker; its connections end at once. Safe to repeat."""
