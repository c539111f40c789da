"""Bundle identities pinned when a request is accepted: a path without a version means the object as
it is now (its S3 VersionId, or its content hash where the bucket keeps no versions)."""

from __future__ import annotations

from aerodrome import errors
from aerodrome.bundles.base import Bucket
from aerodrome.domain.spec import EnvironmentSpec

# (path field, version field, wire member of the path, wire member of the version)
BUNDLES = (
    ("plugins_s3_path", "plugins_s3_object_version", "PluginsS3Path", "PluginsS3ObjectVersion"),
    ("requirements_s3_path", "requirements_s3_object_version", "RequirementsS3Path", "RequirementsS3ObjectVersion"),
    ("startup_script_s3_path", "startup_script_s3_object_version", "StartupScriptS3Path",
     "StartupScriptS3ObjectVersion"),
)


def unpin_moved(changes: dict[str, object]) -> dict[str, object]:
    """An update naming a path without a version asks for the object as it is now."""
    out = dict(changes)
    for path_field, version_field, _, _ in BUNDLES:
        if path_field in out and version_field not in out:
            out[version_field] = None
    return out


def names_bundles(changes: dict[str, object]) -> bool:
    return any({path_field, version_field} & set(changes) for path_field, version_field, _, _ in BUNDLES)


def pin(spec: EnvironmentSpec, bucket: Bucket, *, only: set[str] | None = None) -> EnvironmentSpec:
    """`spec` with every bundle's version filled in; errors.Invalid names a missing object or version.
    `only` limits the check to the bundles whose fields an update names (what runs stays pinned)."""
    changes: dict[str, object] = {}
    for path_field, version_field, path_member, version_member in BUNDLES:
        if only is not None and not {path_field, version_field} & only:
            continue
        key, version = getattr(spec, path_field), getattr(spec, version_field)
        if not key:
            if version:
                raise errors.Invalid(f"{version_member} was given without {path_member}; give both.")
            continue
        where = f"s3://{bucket.name}/{key}"
        try:
            info = bucket.head(key, version_id=version)
        except errors.NotFound as exc:
            raise errors.Invalid(f"{version_member} {version} of {where} does not exist ({exc}) Upload the file "
                                 f"again or give an existing version.") from exc
        if info is None:
            raise errors.Invalid(f"{path_member} {where} does not exist; upload it first, then retry.")
        if version is None:
            changes[version_field] = info.version_id if info.version_id not in (None, "null") else info.etag
    return spec.replace(**changes) if changes else spec
