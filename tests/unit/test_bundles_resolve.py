import subprocess
import sys

import pytest

from aerodrome import errors
from aerodrome.bundles import resolve
from aerodrome.bundles.local import LocalBucket
from aerodrome.settings import Settings


def test_a_local_bucket_is_a_folder_under_the_buckets_folder(tmp_path):
    settings = Settings(home=tmp_path)
    bucket = resolve.open_bucket(settings, "arn:aws:s3:::my-dags")
    assert isinstance(bucket, LocalBucket) and bucket.root == settings.buckets_dir / "my-dags"
    assert not bucket.exists()
    assert resolve.ensure_local_bucket(settings, "my-dags") == settings.buckets_dir / "my-dags"
    assert bucket.exists()
    resolve.ensure_local_bucket(settings, "my-dags")  # again: nothing to do


def test_an_s3_endpoint_setting_selects_the_s3_adapter(tmp_path):
    from aerodrome.bundles.s3 import S3Bucket

    settings = Settings(home=tmp_path, s3_endpoint_url="http://127.0.0.1:1", s3_access_key_id="AKIAX",
                        s3_secret_access_key="secret")
    bucket = resolve.open_bucket(settings, "arn:aws:s3:::my-dags")
    assert isinstance(bucket, S3Bucket) and bucket.name == "my-dags"
    assert "secret" not in repr(bucket)


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a..b", "Upper", "under_score", "a/b", "", "x" * 64])
def test_bucket_names_that_could_leave_the_buckets_folder_are_refused(tmp_path, name):
    settings = Settings(home=tmp_path)
    with pytest.raises(errors.Invalid, match="not a valid bucket name"):
        resolve.open_bucket(settings, f"arn:aws:s3:::{name}")
    with pytest.raises(errors.Invalid):
        resolve.ensure_local_bucket(settings, name)
    assert not settings.buckets_dir.exists()


def test_importing_the_bundles_does_not_import_boto3():
    code = ("import sys, aerodrome.bundles.resolve, aerodrome.bundles.s3, aerodrome.bundles.sync, "
            "aerodrome.runtimes.local.s3_serve; assert 'boto3' not in sys.modules and 'botocore' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
