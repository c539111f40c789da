"""Which adapter serves a bucket ARN: an external S3 endpoint by setting, else a local directory."""

from __future__ import annotations

import re
from pathlib import Path

from aerodrome import errors
from aerodrome.bundles.base import Bucket
from aerodrome.domain.spec import bucket_name
from aerodrome.settings import Settings

# The characters the MWAA model allows in a bucket ARN, at most 63 of them (S3's limit), starting
# with a letter or digit and without "..": a local bucket is a folder of that name, and these rules
# keep the name from walking out of the buckets folder. (S3 itself also wants 3 or more.)
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")


def check_bucket_name(name: str) -> str:
    """`name`, or errors.Invalid saying which rule it breaks."""
    if not _BUCKET_NAME.fullmatch(name) or ".." in name:
        raise errors.Invalid(
            f"{name!r} is not a valid bucket name: use up to 63 lowercase letters, digits, dots and hyphens, "
            "starting with a letter or digit, without '..'.")
    return name


def open_bucket(settings: Settings, source_bucket_arn: str) -> Bucket:
    name = check_bucket_name(bucket_name(source_bucket_arn))
    if settings.s3_endpoint_url:
        from aerodrome.bundles.s3 import S3Bucket

        return S3Bucket(name, endpoint_url=settings.s3_endpoint_url, access_key_id=settings.s3_access_key_id,
                        secret_access_key=settings.s3_secret_access_key, region=settings.region)
    from aerodrome.bundles.local import LocalBucket

    return LocalBucket(settings.buckets_dir, name)


def ensure_local_bucket(settings: Settings, name: str) -> Path:
    """Create the local bucket `name` (a folder under the buckets folder) if missing; its path."""
    folder = settings.buckets_dir / check_bucket_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
