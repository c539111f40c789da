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
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from aerodrome import errors
from aerodrome.auth import sealed
from aerodrome.bundles import resolve
from aerodrome.bundles.base import Bucket
from aerodrome.domain import snapshots
from aerodrome.domain.environment import LastUpdate
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import UPDATABLE, Status
from aerodrome.runtimes.base import RuntimeDriver
from aerodrome.services import pinning, snapshot_files
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.snapshot_files import SnapshotFiles
from aerodrome.settings import Settings
from aerodrome.store import environments as store_environments
from aerodrome.store import outbox
from aerodrome.store.db import Store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
NOT_SAVABLE = {Status.PENDING, Status.CREATING, Status.CREATE_FAILED, Status.DELETING, Status.DELETED}


class SnapshotService:
    def __init__(self, *, store: Store, settings: Settings, runtime: RuntimeDriver,
                 environments: EnvironmentService, wake: Callable[[str], None]):
        self._store = store
        self._settings = settings
        self._runtime = runtime
        self._environments = environments
        self._wake = wake
        self._files = SnapshotFiles(settings)
        self._loads_lock = threading.Lock()

    # --- save --------------------------------------------------------------------------------
    def save(self, name: str, *, bucket: str | None = None) -> dict:
        """Snapshot `name` while it keeps running; returns the manifest's summary (with "id")."""
        with self._store.session() as session:
            record = store_environments.get(name, session=session)
            if record.status in NOT_SAVABLE or record.applied_spec is None:
                raise errors.Conflict(f"Environment {name} is {record.status.value}; only an environment that "
                                      "has run can be saved.")
            snapshot_id = snapshots.new_id(time.time())
            self._event(record, {"phase": "saving", "snapshot": snapshot_id}, session=session)
        try:
            manifest = self._write(record, snapshot_id, bucket=bucket)
        except Exception as exc:
            self._after(record, {"phase": "save", "result": "failed", "snapshot": snapshot_id, "error": str(exc)})
            raise
        self._after(record, {"phase": "saved", "result": "success", "snapshot": snapshot_id,
                             "sizeBytes": manifest["sizeBytes"], "counts": manifest["counts"]})
        return snapshots.summary(manifest)

    def _write(self, record: store_environments.EnvironmentRecord, snapshot_id: str, *, bucket: str | None) -> dict:
        spec = record.applied_spec or record.spec
        target = self._files.bucket(spec.source_bucket_arn, name=bucket)
        placement = record.placement
        with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:  # files stream: none is whole in memory
            dump, sealed_secrets = Path(tmp) / snapshots.DUMP, Path(tmp) / snapshots.SECRETS
            self._runtime.dump_database(placement, dump)
            counts = self._runtime.dump_counts(dump)
            secrets = json.dumps(self._runtime.database_secrets(placement)).encode()
            sealed_secrets.write_bytes(sealed.seal(secrets, key_file=self._settings.snapshot_key_file))
            files = {snapshots.DUMP: dump, snapshots.SECRETS: sealed_secrets}
            manifest = snapshots.manifest(
                snapshot_id=snapshot_id, environment=record.name, arn=record.arn, created=time.time(),
                spec=spec.to_json(), files=[snapshot_files.entry(n, p) for n, p in files.items()], counts=counts,
                bucket=target.name)
            self._files.write(target, manifest, files)
        return manifest

    # --- load --------------------------------------------------------------------------------
    def target(self, snapshot_id: str, *, into: str | None = None, bucket: str | None = None) -> str:
        """The environment a load would change (for authorization before anything happens)."""
        if into is not None:
            return snapshots.check_name(into)
        return self._locate(snapshot_id, bucket=bucket)[1]["environment"]

    def load(self, snapshot_id: str, *, into: str | None = None, bucket: str | None = None) -> dict:
        """Verify every file, then load into a new environment `into` or back into the snapshot's own.
        Returns {"Name", "Status", "Snapshot", "EventPosition"}; the reconciler does the rest."""
        found, manifest = self._locate(snapshot_id, bucket=bucket)
        # downloaded beside the environments (the same file system), so staging the dump moves it
        with tempfile.TemporaryDirectory(prefix=".snapshot-load-", dir=self._settings.home) as tmp:
            files = self._files.read(found, manifest, Path(tmp))
            what = f"Snapshot {snapshot_id}"
            secrets = json.loads(sealed.unseal(files[snapshots.SECRETS].read_bytes(),
                                               key_file=self._settings.snapshot_key_file, what=what))
            staged = {"dump": files[snapshots.DUMP], "secrets": secrets, "expected": manifest["counts"],
                      "snapshot_id": snapshot_id}
            spec = EnvironmentSpec.from_json(manifest["spec"])
            if into is not None:
                return self._load_new(manifest, spec.replace(name=snapshots.check_name(into)), staged)
            return self._load_same(manifest, spec, staged)

    def _load_new(self, manifest: dict, spec: EnvironmentSpec, staged: dict) -> dict:
        with self._store.session() as session:
            position = outbox.latest(session=session)

        def before_start(placement: Placement, *, session: Session) -> None:
            self._runtime.stage_restore(placement, **staged)
            record = store_environments.get(spec.name, session=session)
            self._event(record, {"phase": "loading", "snapshot": manifest["id"], "from": manifest["environment"]},
                        session=session)

        self._environments.create(spec, tags={}, before_start=before_start)
        return {"Name": spec.name, "Status": self._environments.get(spec.name).status.value,
                "Snapshot": manifest["id"], "EventPosition": position}

    def _load_same(self, manifest: dict, spec: EnvironmentSpec, staged: dict) -> dict:
        name = spec.name
        spec = pinning.pin(spec, resolve.open_bucket(self._settings, spec.source_bucket_arn))  # versions still there
        placement = self._environments.placement(name)
        with self._loads_lock:  # one load at a time: the staged dump is the environment's only one
            with self._store.session() as session:
                status = store_environments.get(name, session=session).status
            if status not in UPDATABLE or self._runtime.restore_pending(placement):
                raise errors.Conflict(f"Environment {name} is {status.value}; a snapshot loads into it when "
                                      f"it is {' or '.join(sorted(s.value for s in UPDATABLE))}.")
            self._runtime.stage_restore(placement, **staged)  # no store transaction open meanwhile
            try:
                with self._store.session() as session:
                    record = store_environments.get(name, session=session)
                    position = outbox.latest(session=session)
                    last = LastUpdate(status="PENDING", created_at=time.time(), source="USER",
                                      worker_replacement_strategy=spec.worker_replacement_strategy)
                    generation = store_environments.set_desired(name, spec, last_update=last, session=session)
                    store_environments.transition(name, Status.UPDATING, session=session, expected=status,
                                                  generation=generation)
                    self._event(record, {"phase": "loading", "snapshot": manifest["id"], "from": name},
                                session=session)
            except BaseException:  # nothing may be left staged for the next ensure
                self._runtime.clear_restore(placement)
                raise
        self._wake(name)
        return {"Name": name, "Status": Status.UPDATING.value, "Snapshot": manifest["id"], "EventPosition": position}

    def report_loads(self) -> None:
        """Turn each finished restore (the driver's result) into a `snapshot` event, once."""
        with self._store.session() as session:
            records = store_environments.all_records(session=session)
        for record in records:
            placement = record.placement
            result = self._runtime.restore_result(placement)
            if result is None:
                continue
            outcome = "verified" if result.get("verified") else "failed"
            self._after(record, {"phase": "loaded", "result": outcome, "snapshot": result["snapshot"],
                                 "counts": result.get("counts"), "detail": result.get("detail") or result.get("error")})
            self._runtime.clear_restore(placement)

    # --- list and prune ----------------------------------------------------------------------
    def list(self, name: str | None = None, *, bucket: str | None = None) -> list[dict]:
        """Summaries (no spec, no secrets), oldest first."""
        found = [m for b in self._buckets(name, bucket=bucket)
                 for m in self._files.manifests(b, environment=name)]
        return [snapshots.summary(m) for m in sorted(found, key=lambda m: m["id"])]

    def prune(self, name: str, *, keep: int, bucket: str | None = None) -> dict:
        """Delete `name`'s oldest snapshots beyond the newest `keep`: {"Deleted": [ids], "Kept": [ids]}."""
        target = self._buckets(name, bucket=bucket)[0]
        manifests = {m["id"]: m for m in self._files.manifests(target, environment=name)}
        doomed = snapshots.to_prune(list(manifests), keep=keep)
        for snapshot_id in doomed:
            self._files.delete(target, manifests[snapshot_id])
        if doomed:
            with self._store.session() as session:
                record = store_environments.get(name, session=session)
                self._event(record, {"phase": "pruned", "result": "success", "deleted": doomed, "kept": keep},
                            session=session)
        return {"Deleted": doomed, "Kept": sorted(set(manifests) - set(doomed))}

    # --- helpers -----------------------------------------------------------------------------
    def _buckets(self, name: str | None, *, bucket: str | None) -> builtins.list[Bucket]:
        if bucket or self._settings.snapshot_bucket:
            return [self._files.bucket(name=bucket)]
        with self._store.session() as session:
            records = ([store_environments.get(name, session=session)] if name
                       else store_environments.all_records(session=session))
        arns = sorted({(r.applied_spec or r.spec).source_bucket_arn for r in records})
        return [b for b in (resolve.open_bucket(self._settings, arn) for arn in arns) if b.exists()]

    def _locate(self, snapshot_id: str, *, bucket: str | None) -> tuple:
        snapshots.check_id(snapshot_id)
        for candidate in self._buckets(None, bucket=bucket):
            if (manifest := self._files.find(candidate, snapshot_id)) is not None:
                return candidate, manifest
        raise errors.NotFound(f"Snapshot {snapshot_id} not found (looked in the snapshot bucket or the "
                              "environments' source buckets; name another with --bucket).")

    def _after(self, record: store_environments.EnvironmentRecord, payload: dict) -> None:
        with self._store.session() as session:
            self._event(record, payload, session=session)

    @staticmethod
    def _event(record: store_environments.EnvironmentRecord, payload: dict, *, session: Session) -> None:
        store_environments.append_event(record.name, "snapshot", {**payload, "arn": record.arn}, session=session)
