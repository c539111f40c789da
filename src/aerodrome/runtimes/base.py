"""The runtime driver protocol: how the reconciler asks for processes without knowing how they run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aerodrome.domain.spec import EnvironmentSpec

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Placement:
    """Where an environment lives on this host; fixed at create, kept in the store."""

    env_id: str  # short stable id, safe for database names, e.g. "e3f9a1c2"
    root: Path  # environment directory: dags/, plugins/, logs/, airflow_home/ ...
    web_port: int  # api-server (Airflow 3) or webserver (Airflow 2) port on 127.0.0.1
    broker_db: int  # Redis database number (namespace) of this environment

    @property
    def dags_dir(self) -> Path:
        return self.root / "dags"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def to_json(self) -> dict:
        return {"env_id": self.env_id, "root": str(self.root), "web_port": self.web_port,
                "broker_db": self.broker_db}

    @classmethod
    def from_json(cls, data: dict) -> Placement:
        return cls(env_id=data["env_id"], root=Path(data["root"]), web_port=data["web_port"],
                   broker_db=data["broker_db"])


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

    @property
    def running(self) -> bool:
        return any(c.running for c in self.components)

    def crashing(self, *, restarts: int = 3) -> bool:
        """A component cannot start, or has exited `restarts` times and is down again."""
        return self.failed or any(not c.running and c.restarts >= restarts for c in self.components)


class RuntimeDriver(Protocol):
    def prepare(self, spec: EnvironmentSpec, *, progress: Progress | None = None) -> None:
        """Make the Airflow version's venv and template database ready (idempotent, slow the first time)."""

    def stage(self, spec: EnvironmentSpec, placement: Placement, fetch: Callable[[set[str]], dict[str, bytes | None]],
              *,
              progress: Progress | None = None) -> None:
        """Make the spec's plugins, requirements and startup script ready without touching running
        processes (`fetch(kinds)` returns the bytes of the kinds not staged yet). errors.Permanent
        when one of them is broken: this is the pre-flight of a create or update."""

    def ensure(self, spec: EnvironmentSpec, placement: Placement, *, progress: Progress | None = None) -> None:
        """Create what is missing (database, broker namespace, config) and start/restart components
        so they run `spec`. Idempotent; re-attaches to processes that already run it."""

    def observe(self, spec: EnvironmentSpec, placement: Placement) -> Observed: ...

    def stop(self, placement: Placement) -> None:
        """Stop every process of the environment; keep its database and files."""

    def quiesce(self, spec: EnvironmentSpec, placement: Placement) -> None:
        """Stop scheduling new tasks (schedulers stop); workers and the web server keep running so
        running tasks finish and report. Idempotent."""

    def refresh_next_runs(self, spec: EnvironmentSpec, placement: Placement) -> None:
        """Before the schedulers start again after a stop: let Airflow recompute each DAG's next run
        from now, so its catchup setting alone decides the runs missed meanwhile."""

    def active_tasks(self, placement: Placement) -> int:
        """Task instances of the environment that are queued or running."""

    def task_counts(self, placement: Placement) -> tuple[int, int]:
        """(queued, running) task instances of the environment: one cheap query."""

    def worker_count(self, spec: EnvironmentSpec, placement: Placement) -> int:
        """The Celery workers the environment runs now (the autoscaler's choice within the spec's bounds)."""

    def scale(self, spec: EnvironmentSpec, placement: Placement, count: int, *,
              progress: Progress | None = None) -> bool:
        """Run `count` workers, keeping the count across restarts; a worker removed is drained (it
        finishes its running tasks and exits), never killed. False if the environment is busy."""

    def snapshot(self, placement: Placement, path: Path) -> None:
        """A consistent copy of the environment's metadata database at `path`."""

    def restore(self, placement: Placement, path: Path) -> None:
        """Replace the environment's metadata database by the snapshot at `path`."""

    def prepare_move(self, current: str, target: str, *, progress: Progress | None = None) -> None:
        """Make ready what moving the schema from `current` to `target` needs, before anything stops."""

    def move_schema(self, current: str, target: str, placement: Placement, *, log: Path) -> None:
        """Migrate (or downgrade) the stopped environment's database from Airflow `current`'s schema
        to `target`'s; errors.Permanent naming `log` when that fails."""

    def parse_report(self, placement: Placement, *, since: float):
        """DAG files parsed since `since` (epoch seconds) and their import errors (`.parsed`, `.errors`)."""

    def delete(self, placement: Placement) -> None:
        """Stop processes and remove database, broker keys, directories. Idempotent."""

    def close(self) -> None:
        """Stop supervision and every process this driver started (control-plane shutdown)."""
