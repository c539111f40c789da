"""DAG sync loops of running environments: bucket prefix -> the environment's DAG folder, and each team's."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.bundles import resolve, sync
from aerodrome.bundles.base import Bucket
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec, bucket_name
from aerodrome.settings import Settings

log = logging.getLogger(__name__)

OnSync = Callable[[str, dict], None]  # (environment name, summary of one sync that changed its DAG folder)
# (environment name, team or None, the sync's result): the files one sync changed, for the dag-processor
OnFiles = Callable[[str, str | None, sync.SyncResult], None]


class BucketSyncs:
    def __init__(self, settings: Settings, *, on_sync: OnSync | None = None, on_files: OnFiles | None = None):
        """`on_sync(name, summary)` hears of every sync that changed a DAG folder: counts of files
        added, changed and removed (and keys left out), the mirror's hash and the source;
        `on_files(name, team, result)` of the same syncs, with the files' paths."""
        self._settings = settings
        self._on_sync = on_sync
        self._on_files = on_files
        # (environment, team or None for DagS3Path) -> ((bucket ARN, prefix), its loop)
        self._loops: dict[tuple[str, str | None], tuple[tuple[str, str], sync.DagSyncLoop]] = {}
        self._lock = threading.Lock()

    def start(self, name: str, spec: EnvironmentSpec, placement: Placement) -> None:
        """Mirror the bucket's DAG prefix now, then keep mirroring it. Restarts when the source moved.
        The same for each team's DAG folder (Teams): a removed team's loop stops and its folder goes."""
        self._start(name, None, (spec.source_bucket_arn, spec.dag_s3_path), placement.dags_dir)
        wanted = {team: (config.source_bucket_arn, config.dag_s3_path) for team, config in spec.teams.items()}
        for key in [key for key in self._loops if key[0] == name and key[1] is not None and key[1] not in wanted]:
            self._stop(key)
        folders = placement.team_dags_root
        for folder in sorted(folders.iterdir()) if folders.is_dir() else ():
            if folder.name not in wanted:
                shutil.rmtree(folder, ignore_errors=True)
        for team, source in sorted(wanted.items()):
            self._start(name, team, source, placement.team_dags_dir(team))

    def _start(self, name: str, team: str | None, source: tuple[str, str], target: Path) -> None:
        key = (name, team)
        with self._lock:
            current = self._loops.get(key)
            if current and current[0] == source:
                return
        if current:
            self._stop(key)
        settings = self._settings
        bucket_arn, prefix = source

        def open_bucket() -> Bucket:
            return resolve.open_bucket(settings, bucket_arn)

        target.mkdir(parents=True, exist_ok=True)
        def changed(result: sync.SyncResult) -> None:
            self._notify(name, team, source, target, result)

        result = sync.sync_prefix(open_bucket(), prefix, target)
        log.info("%s: first DAG sync%s %s", name, f" of team {team}" if team else "", result)
        if result.changes:
            changed(result)
        loop = sync.DagSyncLoop(open_bucket, prefix, target, interval=settings.sync_interval, on_change=changed)
        loop.start()
        with self._lock:
            self._loops[key] = (source, loop)

    def _notify(self, name: str, team: str | None, source: tuple[str, str], target: Path,
                result: sync.SyncResult) -> None:
        if self._on_files is not None:
            try:
                self._on_files(name, team, result)
            except Exception:
                log.exception("%s: telling the environment of changed DAG files failed", name)
        if self._on_sync is None:
            return
        where = f"s3://{bucket_name(source[0])}/{sync.normalize_prefix(source[1])}"
        summary: dict[str, object] = {
            "added": len(result.added), "changed": len(result.changed), "removed": len(result.removed),
            "skipped": len(result.errors), "bundleHash": sync.mirror_hash(target), "source": where}
        if team is not None:
            summary["team"] = team
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
        """Stop the environment's loops (its teams' too)."""
        for key in [key for key in list(self._loops) if key[0] == name]:
            self._stop(key)

    def _stop(self, key: tuple[str, str | None]) -> None:
        with self._lock:
            entry = self._loops.pop(key, None)
        if entry:
            entry[1].stop()

    def stop_all(self) -> None:
        for key in list(self._loops):
            self._stop(key)

    def status(self, name: str, team: str | None = None) -> sync.DagSyncLoop | None:
        entry = self._loops.get((name, team))
        return entry[1] if entry else None
