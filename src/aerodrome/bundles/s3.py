"""A bucket on any S3-API endpoint (AWS, MinIO, rclone `serve s3`, ...), through boto3.

boto3 is imported when an S3Bucket is made, never when aerodrome is imported. Object versions are
passed as S3 VersionIds; a server that keeps no versions (or ignores the VersionId) is held to the
local-bucket rule instead: the version must be the object's current ETag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aerodrome import errors
from aerodrome.bundles.base import ObjectInfo

_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403", "AllAccessDisabled",
           "AccountProblem", "InvalidToken", "ExpiredToken", "InvalidSecurity"}
_BUSY = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "500", "502", "503", "504"}
_NO_VERSION = {"NoSuchVersion", "InvalidArgument", "400"}
_UNVERSIONED = {"NotImplemented", "501"}


class S3Bucket:
    def __init__(self, name: str, *, endpoint_url: str | None, access_key_id: str | None = None,
                 secret_access_key: str | None = None, region: str = "us-east-1"):
        import boto3
        from botocore.config import Config

        self.name = name
        self.endpoint = endpoint_url or "AWS S3"
        config = Config(
            signature_version="s3v4", s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=60,
            # S3-API servers other than AWS may not know the newer default checksums.
            request_checksum_calculation="when_required", response_checksum_validation="when_required")
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key, region_name=region, config=config)

    def __repr__(self) -> str:
        return f"S3Bucket({self.name!r}, endpoint={self.endpoint!r})"

    def exists(self) -> bool:
        """False when the bucket is missing or these credentials may not read it."""
        from botocore.exceptions import ClientError

        try:
            self._call(self._client.head_bucket, Bucket=self.name)
        except errors.NotFound:
            return False
        except errors.Permanent as exc:
            if isinstance(exc.__cause__, ClientError) and _code(exc.__cause__) in _DENIED:
                return False
            raise
        return True

    def list(self, prefix: str) -> list[ObjectInfo]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = self._call(lambda **kw: list(paginator.paginate(**kw)), Bucket=self.name, Prefix=prefix)
        found = [ObjectInfo(key=item["Key"], etag=_etag(item["ETag"]), size=item["Size"])
                 for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/")]
        return sorted(found, key=lambda info: info.key)

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            reply = self._client.head_object(Bucket=self.name, Key=key, **_version(version_id))
        except ClientError as exc:
            code = _code(exc)
            if version_id is not None and code in _UNVERSIONED:
                return self._unversioned(self.head(key), key, version_id)
            if version_id is not None and code in _NO_VERSION | {"404", "NoSuchKey"} and self.exists():
                raise self._no_version(key, version_id) from exc
            if code in ("404", "NoSuchKey", "NotFound"):
                if not self.exists():
                    raise self._no_bucket() from exc
                return None
            raise self._translate(exc, key=key) from exc
        except Exception as exc:  # connection trouble; _call's rules apply
            raise self._translate(exc, key=key) from exc
        info = ObjectInfo(key=key, etag=_etag(reply["ETag"]), size=reply["ContentLength"],
                          version_id=reply.get("VersionId"))
        return self._checked(info, key, version_id)

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        from botocore.exceptions import ClientError

        try:
            info, data = self._get(key, version_id)
        except errors.AerodromeError as exc:
            cause = exc.__cause__
            if version_id is None or not isinstance(cause, ClientError):
                raise
            if _code(cause) in _UNVERSIONED:  # judge what was read, not a separate HEAD
                info, data = self._get(key, None)
                self._unversioned(info, key, version_id)
                return data
            if _code(cause) in _NO_VERSION:
                raise self._no_version(key, version_id) from cause
            raise
        self._checked(info, key, version_id)
        return data

    def _get(self, key: str, version_id: str | None) -> tuple[ObjectInfo, bytes]:
        reply = self._call(self._client.get_object, Bucket=self.name, Key=key, **_version(version_id))
        data = self._call(reply["Body"].read)
        return ObjectInfo(key=key, etag=_etag(reply["ETag"]), size=len(data), version_id=reply.get("VersionId")), data

    def put(self, key: str, data: bytes) -> ObjectInfo:
        reply = self._call(self._client.put_object, Bucket=self.name, Key=key, Body=data)
        return ObjectInfo(key=key, etag=_etag(reply["ETag"]), size=len(data), version_id=reply.get("VersionId"))

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        self._call(self._client.upload_file, Filename=str(path), Bucket=self.name, Key=key, Config=_transfer())
        info = self.head(key)
        if info is None:
            raise errors.Temporary(f"s3://{self.name}/{key} was uploaded but is not there.")
        return info

    def get_file(self, key: str, path: Path) -> ObjectInfo:
        info = self.head(key)
        if info is None:
            raise errors.NotFound(f"s3://{self.name}/{key} does not exist.")
        self._call(self._client.download_file, Bucket=self.name, Key=key, Filename=str(path), Config=_transfer())
        return info

    def delete(self, key: str) -> None:
        self._call(self._client.delete_object, Bucket=self.name, Key=key)

    # --- versions ------------------------------------------------------------------------------

    def _checked(self, info: ObjectInfo, key: str, version_id: str | None) -> ObjectInfo:
        if version_id is None or info.version_id == version_id:
            return info
        if info.version_id is None:  # the server ignored the VersionId: it keeps no versions
            return self._unversioned(info, key, version_id)
        raise self._no_version(key, version_id)

    def _unversioned(self, current: ObjectInfo | None, key: str, version_id: str) -> ObjectInfo:
        if current is None:
            raise errors.NotFound(f"s3://{self.name}/{key} does not exist at {self.endpoint}.")
        if current.etag != version_id:
            raise errors.NotFound(
                f"s3://{self.name}/{key} has no version {version_id}: the S3 server at {self.endpoint} keeps no "
                f"object versions, so the version must be the current content's ETag, {current.etag}.")
        return current

    def _no_version(self, key: str, version_id: str) -> errors.NotFound:
        return errors.NotFound(f"s3://{self.name}/{key} has no version {version_id} at {self.endpoint}.")

    # --- errors --------------------------------------------------------------------------------

    def _call(self, function: Any, **kwargs: Any) -> Any:
        try:
            return function(**kwargs)
        except Exception as exc:  # translated, or re-raised as is
            raise self._translate(exc, key=kwargs.get("Key")) from exc

    def _no_bucket(self) -> errors.NotFound:
        return errors.NotFound(f"Bucket {self.name} does not exist at {self.endpoint}.")

    def _translate(self, exc: Exception, *, key: str | None = None) -> Exception:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(exc, errors.AerodromeError):
            return exc
        if isinstance(exc, NoCredentialsError):
            return errors.Permanent(f"No credentials for the S3 endpoint {self.endpoint}: set an access key "
                                    "and secret for it.")
        if isinstance(exc, BotoCoreError):
            return errors.Temporary(f"The S3 endpoint {self.endpoint} did not answer: {exc}", delay=5.0)
        if not isinstance(exc, ClientError):
            return exc
        code, message = _code(exc), exc.response.get("Error", {}).get("Message", "")
        if code == "NoSuchBucket":
            return self._no_bucket()
        if code in ("NoSuchKey", "404"):
            what = f"s3://{self.name}/{key}" if key else f"Bucket {self.name}"
            return errors.NotFound(f"{what} does not exist at {self.endpoint}.")
        if code in _DENIED:
            return errors.Permanent(f"Access to bucket {self.name} at {self.endpoint} was denied ({code}: "
                                    f"{message or 'no message'}); check the S3 access key and secret.")
        if code in _BUSY:
            return errors.Temporary(f"The S3 endpoint {self.endpoint} is busy or failing ({code}: {message}).",
                                    delay=5.0)
        return errors.Permanent(f"S3 {code} on bucket {self.name} at {self.endpoint}: {message or 'no message'}")


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _etag(raw: str) -> str:
    return raw.strip('"')


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id is not None else {}


def _transfer() -> Any:
    """Multipart above 64 MiB, in 64 MiB parts: a large dump is never whole in memory."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20, max_concurrency=4)
