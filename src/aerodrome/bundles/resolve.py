"""Which adapter serves a bucket ARN: an external S3 endpoint by setting, else a local directory."""

from __future__ import annotations

from aerodrome.bundles.base import Bucket
from aerodrome.domain.spec import bucket_name
from aerodrome.settings import Settings


def open_bucket(settings: Settings, source_bucket_arn: str) -> Bucket:
    name = bucket_name(source_bucket_arn)
    if settings.s3_endpoint_url:
        from aerodrome.bundles.s3 import S3Bucket

        return S3Bucket(name, endpoint_url=settings.s3_endpoint_url, access_key_id=settings.s3_access_key_id,
                        secret_access_key=settings.s3_secret_access_key, region=settings.region)
    from aerodrome.bundles.local import LocalBucket

    return LocalBucket(settings.buckets_dir, name)
