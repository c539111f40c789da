"""The local buckets folder served over S3 by rclone, driven by real clients: boto3, the AWS CLI, S3Bucket."""

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import boto3
import psutil
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from aerodrome import errors
from aerodrome.bundles import resolve
from aerodrome.bundles.local import LocalBucket
from aerodrome.bundles.sync import sync_prefix
from aerodrome.runtimes.local.s3_serve import S3Server
from aerodrome.settings import Settings
from tests.support import S3_KEY as KEY
from tests.support import S3_SECRET as SECRET
from tests.support import free_port, s3_bucket, wait_for


def wait_until(condition, *, timeout=20.0, what="the condition"):
    wait_for(condition, timeout=timeout, interval=0.05, what=what)


@pytest.fixture
def bucket_dir(served, request):
    """A fresh local bucket for each test, named after it."""
    name = request.node.name.replace("_", "-").lower()[:50].strip("-")
    return resolve.ensure_local_bucket(served[1], name)


def client(server, *, key=KEY, secret=SECRET, **config):
    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name="us-east-1", config=Config(retries={"max_attempts": 1}, **config))


def files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_boto3_writes_land_in_the_folder(server, bucket_dir):
    s3 = client(server)
    s3.put_object(Bucket=bucket_dir.name, Key="dags/x.py", Body=b"x = 1\n")
    assert (bucket_dir / "dags" / "x.py").read_bytes() == b"x = 1\n"
    listed = s3.list_objects_v2(Bucket=bucket_dir.name, Prefix="dags/")
    assert [o["Key"] for o in listed["Contents"]] == ["dags/x.py"]
    assert bucket_dir.name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_object(Bucket=bucket_dir.name, Key="dags/x.py")
    assert not (bucket_dir / "dags").exists()


def test_the_aws_cli_copies_and_syncs_into_the_folder(server, bucket_dir, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "AWS_CONFIG_FILE": str(home / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"), "AWS_ACCESS_KEY_ID": KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": server.url}

    def aws(*args):
        done = subprocess.run([sys.executable, "-m", "awscli", *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    source = tmp_path / "project"
    (source / "dags" / "sub").mkdir(parents=True)
    (source / "dags" / "a.py").write_text("a = 1\n")
    (source / "dags" / "sub" / "b.py").write_text("b = 1\n")
    (source / "requirements.txt").write_text("apache-airflow-providers-amazon\n")
    aws("s3", "cp", "--only-show-errors", str(source / "requirements.txt"), f"s3://{bucket_dir.name}/requirements.txt")
    aws("s3", "sync", "--only-show-errors", str(source / "dags"), f"s3://{bucket_dir.name}/dags/")
    assert files(bucket_dir) == ["dags/a.py", "dags/sub/b.py", "requirements.txt"]
    assert (bucket_dir / "dags" / "sub" / "b.py").read_text() == "b = 1\n"

    (source / "dags" / "a.py").unlink()
    (source / "dags" / "sub" / "b.py").write_text("b = 2\n")
    aws("s3", "sync", "--only-show-errors", "--delete", str(source / "dags"), f"s3://{bucket_dir.name}/dags/")
    assert files(bucket_dir) == ["dags/sub/b.py", "requirements.txt"]
    assert (bucket_dir / "dags" / "sub" / "b.py").read_text() == "b = 2\n"
    assert "dags/sub/b.py" in aws("s3", "ls", "--recursive", f"s3://{bucket_dir.name}/")


def test_s3_bucket_reads_what_the_local_bucket_wrote_at_once(server, bucket_dir):
    local = LocalBucket(bucket_dir.parent, bucket_dir.name)
    remote = s3_bucket(server, bucket_dir.name)
    written = local.put("dags/a.py", b"first")
    assert remote.exists()
    assert remote.list("dags/") == [written]  # same key, same ETag (md5), same size
    assert remote.get("dags/a.py") == b"first"
    (bucket_dir / "dags" / "a.py").write_bytes(b"second, straight to disk")  # no S3 request involved
    assert remote.get("dags/a.py") == b"second, straight to disk"
    assert remote.head("dags/a.py").etag == local.head("dags/a.py").etag
    assert remote.head("dags/missing.py") is None

    put = remote.put("dags/b.py", b"from S3")
    assert local.get("dags/b.py") == b"from S3" and local.head("dags/b.py").etag == put.etag
    remote.delete("dags/b.py")
    assert local.head("dags/b.py") is None


def test_the_server_idles_after_nested_reads_and_deletes(server, bucket_dir):
    """With a zero directory-cache time rclone's cache cleaner spun a whole core once a nested folder
    had been read; the server must go quiet after its requests."""
    s3 = client(server)
    s3.put_object(Bucket=bucket_dir.name, Key="dags/a/dag.py", Body=b"x = 1\n")
    assert s3.list_objects_v2(Bucket=bucket_dir.name, Prefix="dags/")["KeyCount"] == 1
    s3.get_object(Bucket=bucket_dir.name, Key="dags/a/dag.py")["Body"].read()
    s3.delete_object(Bucket=bucket_dir.name, Key="dags/a/dag.py")
    process = psutil.Process(server.pid)
    before = sum(process.cpu_times()[:2])
    threading.Event().wait(3.0)  # a window to watch, not a wait for a result
    used = sum(process.cpu_times()[:2]) - before
    assert used < 1.0, f"the idle S3 server used {used:.1f} s of CPU in 3 s"


def test_dags_mirror_through_s3(server, bucket_dir, tmp_path):
    s3 = client(server)
    s3.put_object(Bucket=bucket_dir.name, Key="dags/a.py", Body=b"a")
    s3.put_object(Bucket=bucket_dir.name, Key="dags/sub/b.py", Body=b"b")
    target = tmp_path / "env" / "dags"
    remote = s3_bucket(server, bucket_dir.name)
    assert sync_prefix(remote, "dags", target).added == ("a.py", "sub/b.py")
    s3.put_object(Bucket=bucket_dir.name, Key="dags/a.py", Body=b"a2")
    s3.delete_object(Bucket=bucket_dir.name, Key="dags/sub/b.py")
    result = sync_prefix(remote, "dags", target)
    assert (result.changed, result.removed) == (("a.py",), ("sub/b.py",))
    assert files(target) == ["a.py"] and (target / "a.py").read_bytes() == b"a2"


def test_versions_on_a_server_without_versioning_are_content_hashes(server, bucket_dir):
    remote = s3_bucket(server, bucket_dir.name)
    current = remote.put("plugins.zip", b"zip bytes")
    assert current.version_id is None
    assert remote.head("plugins.zip", version_id=current.etag).etag == current.etag
    assert remote.get("plugins.zip", version_id=current.etag) == b"zip bytes"
    with pytest.raises(errors.NotFound, match="keeps no object versions"):
        remote.get("plugins.zip", version_id="3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
    with pytest.raises(errors.NotFound, match="keeps no object versions"):
        remote.head("plugins.zip", version_id="3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")


def test_a_missing_bucket_is_named_with_the_endpoint(server):
    remote = s3_bucket(server, "no-such-bucket")
    assert not remote.exists()
    message = f"Bucket no-such-bucket does not exist at {server.url}"
    for call in (lambda: remote.list("dags/"), lambda: remote.get("dags/a.py"), lambda: remote.head("dags/a.py")):
        with pytest.raises(errors.NotFound, match=message):
            call()


def test_wrong_credentials_are_rejected(server, bucket_dir):
    with pytest.raises(ClientError) as wrong_secret:
        client(server, secret="not-the-secret").list_objects_v2(Bucket=bucket_dir.name)
    assert wrong_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as unknown_key:
        client(server, key="AKIAUNKNOWNKEY000000").list_objects_v2(Bucket=bucket_dir.name)
    assert unknown_key.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    (bucket_dir / "public.py").write_text("not public")
    anonymous = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(ClientError):
        anonymous.list_objects_v2(Bucket=bucket_dir.name)
    with pytest.raises(urllib.error.HTTPError) as plain:
        urllib.request.urlopen(f"{server.url}/{bucket_dir.name}/public.py", timeout=10)
    assert plain.value.code in (400, 403)  # rclone answers an unsigned request with UnsupportedAlgorithm
    assert b"not public" not in plain.value.read()
    plain.value.close()

    remote = s3_bucket(server, bucket_dir.name, secret="not-the-secret")
    with pytest.raises(errors.Permanent, match=f"Access to bucket {bucket_dir.name} at {server.url} was denied"):
        remote.list("dags/")
    assert not remote.exists()


def test_the_secret_stays_off_the_command_line_and_out_of_the_log(server):
    assert SECRET not in " ".join(psutil.Process(server.pid).cmdline())
    assert KEY not in " ".join(psutil.Process(server.pid).cmdline())
    assert SECRET not in server.log_file.read_text() and SECRET not in repr(server)


def test_a_crashed_server_is_restarted(tmp_path):
    server = S3Server(Settings(home=tmp_path, s3_port=free_port()), KEY, SECRET)
    server.start()
    try:
        first = server.pid
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: server.pid not in (None, first), what="the restart")
        wait_until(lambda: _answers(server), what="the restarted server to answer")
        assert server.restarts == 1
    finally:
        server.stop()
    assert server.pid is None and not psutil.pid_exists(first)


def orphan_server(home, port: int, secret: str) -> int:
    """The pid of an rclone whose control plane was killed (like kill -9) after starting it."""
    script = ("import os, sys, time; from pathlib import Path; from aerodrome.settings import Settings; "
              "from aerodrome.runtimes.local.s3_serve import S3Server; "
              "s = S3Server(Settings(home=Path(sys.argv[1]), s3_port=int(sys.argv[2])), os.environ['K'], "
              "os.environ['S']); s.start(); print(s.pid, flush=True); time.sleep(600)")
    plane = subprocess.Popen([sys.executable, "-c", script, str(home), str(port)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "K": KEY, "S": secret})
    try:
        orphan = int(plane.stdout.readline())
    finally:
        plane.kill()  # its rclone lives on, holding the port
        plane.wait()
        plane.stdout.close()
    assert psutil.pid_exists(orphan)
    return orphan


def test_a_server_left_by_a_killed_control_plane_is_replaced(tmp_path):
    home, port = tmp_path / "home", free_port()
    orphan = orphan_server(home, port, "an-earlier-secret")  # another key: it must not be kept
    server = S3Server(Settings(home=home, s3_port=port), KEY, SECRET)
    server.start()
    try:
        assert server.pid != orphan and _answers(server)
        wait_until(lambda: not psutil.pid_exists(orphan) or psutil.Process(orphan).status() == "zombie",
                   what="the old server to end")
    finally:
        server.stop()


def test_a_server_left_running_with_the_same_settings_is_adopted(tmp_path):
    home, port = tmp_path / "home", free_port()
    orphan = orphan_server(home, port, SECRET)
    server = S3Server(Settings(home=home, s3_port=port), KEY, SECRET)
    server.start()
    try:
        assert server.pid == orphan and _answers(server)
    finally:
        server.stop()
    wait_until(lambda: not psutil.pid_exists(orphan) or psutil.Process(orphan).status() == "zombie",
               what="the adopted server to end")


def test_a_taken_port_fails_the_start_with_a_clear_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = S3Server(Settings(home=tmp_path, s3_port=port), KEY, SECRET)
        with pytest.raises(errors.Permanent, match=f"port {port}"):
            server.start(timeout=20)
    assert server.pid is None


def test_keys_that_cannot_travel_to_rclone_are_refused(tmp_path):
    with pytest.raises(errors.Invalid, match="cannot contain commas"):
        S3Server(Settings(home=tmp_path), KEY, 'with,comma"')


def _answers(server) -> bool:
    try:
        client(server).list_buckets()
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return True


def test_bundles_pinned_through_s3(server, bucket_dir):
    import hashlib

    from aerodrome.domain.spec import EnvironmentSpec
    from aerodrome.services import pinning

    client(server).put_object(Bucket=bucket_dir.name, Key="requirements.txt", Body=b"pyjokes\n")
    spec = EnvironmentSpec(name="dev", execution_role_arn="arn:aws:iam::000000000000:role/r",
                           source_bucket_arn=f"arn:aws:s3:::{bucket_dir.name}", dag_s3_path="dags",
                           requirements_s3_path="requirements.txt")
    pinned = pinning.pin(spec, s3_bucket(server, bucket_dir.name))
    assert pinned.requirements_s3_object_version == hashlib.md5(b"pyjokes\n").hexdigest()
    assert pinning.pin(pinned, s3_bucket(server, bucket_dir.name)) == pinned  # the pin checks out
    with pytest.raises(errors.Invalid, match="RequirementsS3ObjectVersion nope of s3://.*/requirements.txt does "
                                             "not exist"):
        pinning.pin(pinned.replace(requirements_s3_object_version="nope"), s3_bucket(server, bucket_dir.name))
