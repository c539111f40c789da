"""Environment snapshots: save (spec + metadata database dump + the secrets it depends on) to a
bucket, load into a new or the same environment, list, prune. Every save and load appends
`snapshot` events. Loads are carried out by the reconciler: the dump is staged in the
environment's folder and the driver restores it before any component starts;
`report_loads()` turns the driver's verification into an event."""

from __future__ import annotations

import builtins
import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from aerodrome import errors
from aerodrome.auth import sealed
from aerodrome.bundles import resolve
from aerodrome.bundles.base import Bucket
from aerodrome.domain import snapshots as snaps
from aerodrome.domain.environment import LastUpdate
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import UPDATABLE, Status
from aerodrome.runtimes.base import Placement
from aerodrome.services import pinning
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.snapshot_files import SnapshotFiles
from aerodrome.settings import Settings
from aerodrome.store import environments as rows
from aerodrome.store import outbox
from aerodrome.store.db import Store

log = logging.getLogger(__name__)
NOT_SAVABLE = {Status.PENDING, Status.CREATING, Status.CREATE_FAILED, Status.DELETING, Status.DELETED}


class SnapshotRuntime(Protocol):
    """Implemented by runtimes.local.snapshots.LocalSnapshots."""

    def dump(self, placement: Placement, path: Path) -> dict[str, int]: ...

    def secrets(self, placement: Placement) -> dict[str, str]: ...

    def stage_restore(self, placement: Placement, *, dump: bytes, secrets: dict[str, str], expected: dict,
                      snapshot_id: str) -> None: ...

    def pending(self, placement: Placement) -> bool: ...

    def result(self, placement: Placement) -> dict | None: ...

    def clear(self, placement: Placement) -> None: ...


class SnapshotService:
    def __init__(self, *, store: Store, settings: Settings, runtime: SnapshotRuntime,
                 environments: EnvironmentService, wake: Callable[[str], None]):
        self._store = store
        self._settings = settings
        self._runtime = runtime
        self._environments = environments
        self._wake = wake
        self._files = SnapshotFiles(settings)

    # --- save --------------------------------------------------------------------------------
    def save(self, name: str, *, bucket: str | None = None) -> dict:
        """Snapshot `name` while it keeps running; returns the manifest's summary (with "id")."""
        with self._store.session() as session:
            record = rows.get(name, session=session)
            if record.status in NOT_SAVABLE or record.applied_spec is None:
                raise errors.Conflict(f"Environment {name} is {record.status.value}; only an environment that "
                                      "has run can be saved.")
            snapshot_id = snaps.new_id(time.time())
            self._event(record, {"phase": "saving", "snapshot": snapshot_id}, session=session)
        try:
            manifest = self._write(record, snapshot_id, bucket=bucket)
        except Exception as exc:
            self._after(record, {"phase": "save", "result": "failed", "snapshot": snapshot_id, "error": str(exc)})
            raise
        self._after(record, {"phase": "saved", "result": "success", "snapshot": snapshot_id,
                             "sizeBytes": manifest["sizeBytes"], "counts": manifest["counts"]})
        return snaps.summary(manifest)

    def _write(self, record: rows.EnvironmentRecord, snapshot_id: str, *, bucket: str | None) -> dict:
        spec = record.applied_spec or record.spec
        target = self._files.bucket(spec.source_bucket_arn, name=bucket)
        placement = Placement.from_json(record.placement)
        with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:
            dump = Path(tmp) / snaps.DUMP
            counts = self._runtime.dump(placement, dump)
            files = {snaps.DUMP: dump.read_bytes()}
        secrets = json.dumps(self._runtime.secrets(placement)).encode()
        files[snaps.SECRETS] = sealed.seal(secrets, key_file=self._settings.snapshot_key_file)
        manifest = snaps.manifest(
            snapshot_id=snapshot_id, environment=record.name, arn=record.arn, created=time.time(),
            spec=spec.to_json(), files=[snaps.file_entry(n, d) for n, d in files.items()], counts=counts,
            bucket=target.name)
        self._files.write(target, manifest, files)
        return manifest

    # --- load --------------------------------------------------------------------------------
    def target(self, snapshot_id: str, *, into: str | None = None, bucket: str | None = None) -> str:
        """The environment a load would change (for authorization before anything happens)."""
        if into is not None:
            return snaps.check_name(into)
        return self._locate(snapshot_id, bucket=bucket)[1]["environment"]

    def load(self, snapshot_id: str, *, into: str | None = None, bucket: str | None = None) -> dict:
        """Verify every file, then load into a new environment `into` or back into the snapshot's own.
        Returns {"Name", "Status", "Snapshot", "EventPosition"}; the reconciler does the rest."""
        found, manifest = self._locate(snapshot_id, bucket=bucket)
        files = self._files.read(found, manifest)
        what = f"Snapshot {snapshot_id}"
        secrets = json.loads(sealed.unseal(files[snaps.SECRETS], key_file=self._settings.snapshot_key_file, what=what))
        staged = {"dump": files[snaps.DUMP], "secrets": secrets, "expected": manifest["counts"],
                  "snapshot_id": snapshot_id}
        spec = EnvironmentSpec.from_json(manifest["spec"])
        if into is not None:
            return self._load_new(manifest, spec.replace(name=snaps.check_name(into)), staged)
        return self._load_same(manifest, spec, staged)

    def _load_new(self, manifest: dict, spec: EnvironmentSpec, staged: dict) -> dict:
        with self._store.session() as session:
            position = outbox.latest(session=session)

        def before_start(placement: dict, *, session: Session) -> None:
            self._runtime.stage_restore(Placement.from_json(placement), **staged)
            record = rows.get(spec.name, session=session)
            self._event(record, {"phase": "loading", "snapshot": manifest["id"], "from": manifest["environment"]},
                        session=session)

        self._environments.create(spec, tags={}, before_start=before_start)
        return {"Name": spec.name, "Status": self._environments.get(spec.name).status.value,
                "Snapshot": manifest["id"], "EventPosition": position}

    def _load_same(self, manifest: dict, spec: EnvironmentSpec, staged: dict) -> dict:
        name = spec.name
        spec = pinning.pin(spec, resolve.open_bucket(self._settings, spec.source_bucket_arn))  # versions still there
        placement = Placement.from_json(self._environments.placement(name))
        staged_here = committed = False
        try:
            with self._store.session() as session:
                record = rows.get(name, session=session)
                if record.status not in UPDATABLE or self._runtime.pending(placement):
                    raise errors.Conflict(f"Environment {name} is {record.status.value}; a snapshot loads into it when "
                                          f"it is {' or '.join(sorted(s.value for s in UPDATABLE))}.")
                position = outbox.latest(session=session)
                last = LastUpdate(status="PENDING", created_at=time.time(), source="USER",
                                  worker_replacement_strategy=spec.worker_replacement_strategy)
                generation = rows.set_desired(name, spec, last_update=last, session=session)
                self._runtime.stage_restore(placement, **staged)
                staged_here = True
                rows.transition(name, Status.UPDATING, session=session, expected=record.status, generation=generation)
                self._event(record, {"phase": "loading", "snapshot": manifest["id"], "from": name}, session=session)
            committed = True
        finally:
            if staged_here and not committed:  # nothing may be left staged for the next ensure
                self._runtime.clear(placement)
        self._wake(name)
        return {"Name": name, "Status": Status.UPDATING.value, "Snapshot": manifest["id"], "EventPosition": position}

    def report_loads(self) -> None:
        """Turn each finished restore (the driver's result) into a `snapshot` event, once."""
        with self._store.session() as session:
            records = rows.all_records(session=session)
        for record in records:
            placement = Placement.from_json(record.placement)
            result = self._runtime.result(placement)
            if result is None:
                continue
            outcome = "verified" if result.get("verified") else "failed"
            self._after(record, {"phase": "loaded", "result": outcome, "snapshot": result["snapshot"],
                                 "counts": result.get("counts"), "detail": result.get("detail") or result.get("error")})
            self._runtime.clear(placement)

    # --- list and prune ----------------------------------------------------------------------
    def list(self, name: str | None = None, *, bucket: str | None = None) -> list[dict]:
        """Summaries (no spec, no secrets), oldest first."""
        found = [m for b in self._buckets(name, bucket=bucket)
                 for m in self._files.manifests(b, environment=name)]
        return [snaps.summary(m) for m in sorted(found, key=lambda m: m["id"])]

    def prune(self, name: str, *, keep: int, bucket: str | None = None) -> dict:
        """Delete `name`'s oldest snapshots beyond the newest `keep`: {"Deleted": [ids], "Kept": [ids]}."""
        target = self._buckets(name, bucket=bucket)[0]
        manifests = {m["id"]: m for m in self._files.manifests(target, environment=name)}
        doomed = snaps.to_prune(list(manifests), keep=keep)
        for snapshot_id in doomed:
            self._files.delete(target, manifests[snapshot_id])
        if doomed:
            with self._store.session() as session:
                record = rows.get(name, session=session)
                self._event(record, {"phase": "pruned", "result": "success", "deleted": doomed, "kept": keep},
                            session=session)
        return {"Deleted": doomed, "Kept": sorted(set(manifests) - set(doomed))}

    # --- helpers -----------------------------------------------------------------------------
    def _buckets(self, name: str | None, *, bucket: str | None) -> builtins.list[Bucket]:
        if bucket or self._settings.snapshot_bucket:
            return [self._files.bucket(name=bucket)]
        with self._store.session() as session:
            records = [rows.get(name, session=session)] if name else rows.all_records(session=session)
        arns = sorted({(r.applied_spec or r.spec).source_bucket_arn for r in records})
        return [b for b in (resolve.open_bucket(self._settings, arn) for arn in arns) if b.exists()]

    def _locate(self, snapshot_id: str, *, bucket: str | None) -> tuple:
        snaps.check_id(snapshot_id)
        for candidate in self._buckets(None, bucket=bucket):
            if (manifest := self._files.find(candidate, snapshot_id)) is not None:
                return candidate, manifest
        raise errors.NotFound(f"Snapshot {snapshot_id} not found (looked in the snapshot bucket or the "
                              "environments' source buckets; name another with --bucket).")

    def _after(self, record: rows.EnvironmentRecord, payload: dict) -> None:
        with self._store.session() as session:
            self._event(record, payload, session=session)

    @staticmethod
    def _event(record: rows.EnvironmentRecord, payload: dict, *, session: Session) -> None:
        rows.append_event(record.name, "snapshot", {**payload, "arn": record.arn}, session=session)
