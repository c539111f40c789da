"""Acting on an Airflow version change: pre-flight, drain, dump, schema change, DAG check, restore.

`domain.plan` decides the steps; this module does them and keeps how far the change got in
`<environment>/version_change/state.json` (keyed by the spec's generation), so a restarted control
plane carries on where it stopped. Status changes still go through `store.environments.transition`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.domain.plan import Stage, Step, VersionChange
from aerodrome.domain.status import Status
from aerodrome.runtimes.base import Observed, RuntimeDriver
from aerodrome.store import environments
from aerodrome.store.db import Store

STEPS = frozenset({Step.PREFLIGHTED, Step.DUMP, Step.CHANGE_SCHEMA, Step.CHECK_DAGS, Step.RESTORE})
PHASES = (Status.CREATING_SNAPSHOT, Status.UPDATING, Status.ROLLING_BACK)


class VersionChanges:
    def __init__(self, *, store: Store, driver: RuntimeDriver, progress: Callable[[str, str], None]):
        self._store = store
        self._driver = driver
        self._progress = progress
        self._drain_counts: dict[str, int] = {}
        self._import_errors: dict[str, dict[str, str]] = {}

    # --- observing ---------------------------------------------------------------------------
    def observe(self, record: environments.EnvironmentRecord, placement: Placement,
                observed: Observed) -> VersionChange | None:
        """The version change in progress (None: the desired spec runs the applied version)."""
        applied = record.applied_spec
        if record.status not in PHASES or applied is None or applied.airflow_version == record.spec.airflow_version:
            return None
        state = _read(placement, record.generation)
        stage = Stage(state.get("stage", Stage.ACCEPTED))
        forced = record.spec.worker_replacement_strategy == "FORCED"
        change = VersionChange(stage=stage, forced=forced)
        if record.status == Status.CREATING_SNAPSHOT and stage == Stage.PREFLIGHTED and observed.running and not forced:
            return VersionChange(stage=stage, active_tasks=self._draining(record, placement))
        if record.status == Status.UPDATING and stage == Stage.MIGRATED and observed.running:
            report = self._driver.parse_report(placement, since=state["migrated_at"])
            new = {f: e for f, e in report.errors.items() if f not in set(state.get("old_errors", ()))}
            self._import_errors[record.name] = new
            pending = set(state.get("old_files", ())) - report.parsed
            return VersionChange(stage=stage, forced=forced, parse_pending=bool(pending), new_import_errors=bool(new))
        return change

    def _draining(self, record: environments.EnvironmentRecord, placement: Placement) -> int:
        count = self._driver.active_tasks(placement)
        if self._drain_counts.get(record.name) != count:
            self._drain_counts[record.name] = count
            self._progress(record.name, f"draining before the version change: {count} task(s) queued or running")
        return count

    # --- acting ------------------------------------------------------------------------------
    def do(self, step: Step, record: environments.EnvironmentRecord, placement: Placement) -> float | None:
        current, target = (record.applied_spec or record.spec).airflow_version, record.spec.airflow_version

        def say(line: str) -> None:
            self._progress(record.name, line)

        match step:
            case Step.PREFLIGHTED:
                self._driver.prepare_version_change(current, target, progress=say)
                _write(placement, record.generation, stage=Stage.PREFLIGHTED, current=current, target=target,
                       started_at=time.time())
                say(f"Airflow {target} is ready; draining and stopping Airflow {current}")
            case Step.DUMP:
                self._dump(record, placement, current, say)
            case Step.CHANGE_SCHEMA:
                say(f"changing the metadata database's schema from Airflow {current} to {target}")
                self._driver.change_schema(current, target, placement, log=placement.logs_dir / "version_change.log")
                _write(placement, record.generation, stage=Stage.MIGRATED, migrated_at=time.time())
                say(f"the metadata database has Airflow {target}'s schema; starting Airflow {target}")
            case Step.CHECK_DAGS:
                found = self._import_errors.get(record.name) or {}
                names = ", ".join(sorted(found)) or "some DAG files"
                first = next(iter(found.values()), "")
                raise errors.Permanent(f"Airflow {target} cannot import {names}, which Airflow {current} "
                                       f"imported: {first} (log: {placement.logs_dir / 'dag-processor.log'})")
            case Step.RESTORE:
                state = _read(placement, record.generation)
                say(f"restoring the metadata database of Airflow {current} from its dump")
                self._driver.restore_database(placement, Path(state["dump"]))
                _write(placement, record.generation, stage=Stage.RESTORED)
        return 0.0

    def _dump(self, record: environments.EnvironmentRecord, placement: Placement, current: str,
              say: Callable[[str], None]) -> None:
        self._drain_counts.pop(record.name, None)
        before = self._driver.parse_report(placement, since=0)
        folder = placement.root / "dumps"
        path = folder / f"generation-{record.generation}-airflow-{current}.dump"
        say("dumping the metadata database")
        self._driver.dump_database(placement, path)
        for old in folder.glob("*.dump"):
            if old != path:
                old.unlink(missing_ok=True)
        _write(placement, record.generation, stage=Stage.DUMPED, dump=str(path),
               old_files=sorted(before.parsed), old_errors=sorted(before.errors))
        with self._store.session() as session:
            environments.transition(record.name, Status.UPDATING, session=session, expected=Status.CREATING_SNAPSHOT)
        say(f"CREATING_SNAPSHOT -> UPDATING (dump: {path.name})")


def _state_file(placement: Placement) -> Path:
    return placement.root / "version_change" / "state.json"


def _read(placement: Placement, generation: int) -> dict:
    try:
        state = json.loads(_state_file(placement).read_text())
    except (OSError, ValueError):
        state = _read_older(placement)
    return state if state.get("generation") == generation else {}


def _read_older(placement: Placement) -> dict:
    """A change begun by an older control plane, which wrote `upgrade/state.json` and said snapshot."""
    try:
        state = json.loads((placement.root / "upgrade" / "state.json").read_text())
    except (OSError, ValueError):
        return {}
    if state.get("stage") == "snapshot":
        state["stage"] = Stage.DUMPED
    if "snapshot" in state:
        state["dump"] = state.pop("snapshot")
    return state


def _write(placement: Placement, generation: int, **changes: object) -> None:
    state = {**_read(placement, generation), **changes, "generation": generation}
    path = _state_file(placement)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state, indent=1))
    partial.replace(path)
