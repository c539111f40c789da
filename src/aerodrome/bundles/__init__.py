"""Bundles: the only code that reads user buckets, and the DAG mirror.

- `base`: the Bucket protocol and ObjectInfo; S3 prefix semantics; versions.
- `local`: a bucket that is a folder under `settings.buckets_dir` (the default).
- `s3`: a bucket on any S3-API endpoint (`settings.s3_endpoint_url`), boto3 imported lazily.
- `resolve`: bucket ARN -> adapter; bucket-name rules; creating a local bucket.
- `sync`: `sync_prefix` mirrors a prefix into a folder atomically; `DagSyncLoop` keeps doing it.
- `paths`: key rules and atomic writes shared by the above.

Serving the local buckets over the S3 protocol (`rclone serve s3`) is a supervised process of the
local runtime: `runtimes/local/s3_serve.py`.

Object versions: S3 VersionIds where the store keeps them; elsewhere (a folder, an S3 server
without versioning) the version is the content's ETag, and any other version is NotFound.
"""
