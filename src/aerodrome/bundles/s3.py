"""A bucket on any S3-API endpoint (boto3, imported lazily)."""

from __future__ import annotations

from aerodrome import errors
from aerodrome.bundles.base import ObjectInfo


class S3Bucket:
    def __init__(self, name: str, *, endpoint_url: str, access_key_id: str | None, secret_access_key: str | None,
                 region: str):
        import boto3
        from botocore.config import Config

        self.name = name
        self._endpoint = endpoint_url
        self._client = boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
                                    aws_secret_access_key=secret_access_key, region_name=region,
                                    config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}))

    def exists(self) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self.name)
            return True
        except ClientError:
            return False

    def list(self, prefix: str) -> list[ObjectInfo]:
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        found = []
        for page in self._call(self._client.get_paginator("list_objects_v2").paginate, Bucket=self.name,
                               Prefix=prefix):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    found.append(ObjectInfo(key=item["Key"], etag=item["ETag"].strip('"'), size=item["Size"]))
        return found

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        extra = {"VersionId": version_id} if version_id else {}
        try:
            reply = self._client.head_object(Bucket=self.name, Key=key, **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise _translate(exc, self.name, self._endpoint) from exc
        return ObjectInfo(key=key, etag=reply["ETag"].strip('"'), size=reply["ContentLength"],
                          version_id=reply.get("VersionId"))

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        extra = {"VersionId": version_id} if version_id else {}
        return self._call(self._client.get_object, Bucket=self.name, Key=key, **extra)["Body"].read()

    def put(self, key: str, data: bytes) -> ObjectInfo:
        reply = self._call(self._client.put_object, Bucket=self.name, Key=key, Body=data)
        return ObjectInfo(key=key, etag=reply["ETag"].strip('"'), size=len(data), version_id=reply.get("VersionId"))

    def _call(self, function, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            result = function(**kwargs)
            return list(result) if not isinstance(result, dict) else result
        except ClientError as exc:
            raise _translate(exc, self.name, self._endpoint) from exc
        except BotoCoreError as exc:
            raise errors.Temporary(f"S3 at {self._endpoint} is unreachable: {exc}", delay=5) from exc


def _translate(exc, bucket: str, endpoint: str) -> errors.AerodromeError:
    code = exc.response["Error"]["Code"]
    if code in ("NoSuchBucket", "404"):
        return errors.NotFound(f"Bucket {bucket} does not exist at {endpoint}.")
    if code in ("NoSuchKey", "NoSuchVersion"):
        return errors.NotFound(f"{code}: {exc.response['Error'].get('Message', '')}")
    return errors.Permanent(f"S3 {code} for bucket {bucket}: {exc.response['Error'].get('Message', '')}")
