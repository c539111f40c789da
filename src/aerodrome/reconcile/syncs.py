"""One DAG sync loop per running environment: bucket prefix -> the environment's DAG folder."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from aerodrome import errors
from aerodrome.bundles import resolve, sync
from aerodrome.bundles.base import Bucket
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec, bucket_name
from aerodrome.settings import Settings

log = logging.getLogger(__name__)

OnSync = Callable[[str, dict], None]  # (environment name, summary of one sync that changed its DAG folder)


class BucketSyncs:
    def __init__(self, settings: Settings, *, on_sync: OnSync | None = None):
        """`on_sync(name, summary)` hears of every sync that changed a DAG folder: counts of files
        added, changed and removed (and keys left out), the mirror's hash and the source."""
        self._settings = settings
        self._on_sync = on_sync
        self._loops: dict[str, tuple[tuple[str, str], sync.DagSyncLoop]] = {}
        self._lock = threading.Lock()

    def start(self, name: str, spec: EnvironmentSpec, placement: Placement) -> None:
        """Mirror the bucket's DAG prefix now, then keep mirroring it. Restarts when the source moved."""
        source = (spec.source_bucket_arn, spec.dag_s3_path)
        with self._lock:
            current = self._loops.get(name)
            if current and current[0] == source:
                return
        if current:
            self.stop(name)
        settings = self._settings

        def open_bucket() -> Bucket:
            return resolve.open_bucket(settings, spec.source_bucket_arn)

        placement.dags_dir.mkdir(parents=True, exist_ok=True)
        def changed(result: sync.SyncResult) -> None:
            self._notify(name, spec, placement, result)

        result = sync.sync_prefix(open_bucket(), spec.dag_s3_path, placement.dags_dir)
        log.info("%s: first DAG sync %s", name, result)
        if result.changes:
            changed(result)
        loop = sync.DagSyncLoop(open_bucket, spec.dag_s3_path, placement.dags_dir,
                                interval=settings.sync_interval, on_change=changed)
        loop.start()
        with self._lock:
            self._loops[name] = (source, loop)

    def _notify(self, name: str, spec: EnvironmentSpec, placement: Placement, result: sync.SyncResult) -> None:
        if self._on_sync is None:
            return
        source = f"s3://{bucket_name(spec.source_bucket_arn)}/{sync.normalize_prefix(spec.dag_s3_path)}"
        summary = {"added": len(result.added), "changed": len(result.changed), "removed": len(result.removed),
                   "skipped": len(result.errors), "bundleHash": sync.mirror_hash(placement.dags_dir),
                   "source": source}
        try:
            self._on_sync(name, summary)
        except Exception:
            log.exception("%s: recording a DAG sync failed", name)

    def fetch_bundles(self, spec: EnvironmentSpec, kinds: set[str]) -> dict[str, bytes | None]:
        """The pinned bytes of `kinds` ("plugins", "requirements", "startup") of `spec` (None where not set)."""
        bucket = resolve.open_bucket(self._settings, spec.source_bucket_arn)
        out: dict[str, bytes | None] = {}
        for kind, (key, version) in {
            "plugins": (spec.plugins_s3_path, spec.plugins_s3_object_version),
            "requirements": (spec.requirements_s3_path, spec.requirements_s3_object_version),
            "startup": (spec.startup_script_s3_path, spec.startup_script_s3_object_version),
        }.items():
            if kind not in kinds:
                continue
            try:
                out[kind] = bucket.get(key, version_id=version) if key else None
            except errors.NotFound as exc:
                raise errors.Permanent(f"{exc} The environment needs s3://{bucket.name}/{key} at version "
                                       f"{version}; upload it again and update the environment.") from exc
        return out

    def stop(self, name: str) -> None:
        with self._lock:
            entry = self._loops.pop(name, None)
        if entry:
            entry[1].stop()

    def stop_all(self) -> None:
        for name in list(self._loops):
            self.stop(name)

    def status(self, name: str) -> sync.DagSyncLoop | None:
        entry = self._loops.get(name)
        return entry[1] if entry else None
