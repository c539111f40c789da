"""Figures for environment contents: a broken requirements.txt -> UPDATE_FAILED (the pre-flight), and a
changed requirements.txt -> AVAILABLE with the package cache warm.

Runs a control plane in this process in a temporary home (sharing the Airflow venvs of the tests)
and drives it with boto3, like a user would.

    uv run python bench/contents.py [--runs 3]
"""

from __future__ import annotations

import time
from typing import Any

import support

from aerodrome.app import ControlPlane

BUCKET = "bench-contents"


def settle(mwaa: Any, name: str, timeout: float = 600) -> str:
    return support.wait(lambda: (s := mwaa.get_environment(Name=name)["Environment"]["Status"])
                        not in ("CREATING", "UPDATING", "ROLLING_BACK") and s, timeout, f"{name} to settle")


def timed_update(mwaa: Any, s3: Any, body: bytes) -> tuple[float, str]:
    s3.put_object(Bucket=BUCKET, Key="requirements.txt", Body=body)
    started = time.monotonic()
    mwaa.update_environment(Name="bench", RequirementsS3Path="requirements.txt")
    state = settle(mwaa, "bench")
    return time.monotonic() - started, state


def main() -> int:
    args = support.runs_parser(__doc__).parse_args()
    with support.started_plane({}, serve_s3=True) as plane:
        return run(plane, args.runs)


def run(plane: ControlPlane, runs: int) -> int:
    settings = plane.settings
    key, secret = plane.credentials.admin()
    mwaa = support.aws_client("mwaa", settings.endpoint_url, key, secret, settings.region)
    s3 = support.aws_client("s3", f"http://127.0.0.1:{settings.s3_port}", key, secret, settings.region)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="dags/bench.py", Body=support.bash_dag("bench"))
    s3.put_object(Bucket=BUCKET, Key="requirements.txt", Body=b"pyjokes==0.8.3\n")
    mwaa.create_environment(Name="bench", ExecutionRoleArn=support.ROLE, SourceBucketArn=f"arn:aws:s3:::{BUCKET}",
                            DagS3Path="dags", MaxWorkers=2, RequirementsS3Path="requirements.txt",
                            NetworkConfiguration=support.NETWORK)
    if settle(mwaa, "bench") != "AVAILABLE":
        raise SystemExit(f"create failed: {mwaa.get_environment(Name='bench')['Environment']['LastUpdate']}")
    broken, changed = [], []
    for i in range(runs):
        seconds, state = timed_update(mwaa, s3, f"aerodrome-bench-missing-{i}==1.0\n".encode())
        assert state == "UPDATE_FAILED", state
        broken.append(seconds)
        # a new file each time (a new overlay), packages already in uv's cache
        seconds, state = timed_update(mwaa, s3, f"pyjokes==0.8.3\n# revision {i}\n".encode())
        assert state == "AVAILABLE", mwaa.get_environment(Name="bench")["Environment"]["LastUpdate"]
        changed.append(seconds)
    support.report(("broken requirements.txt -> UPDATE_FAILED", broken, "s"),
                   ("changed requirements.txt -> AVAILABLE (warm)", changed, "s"), width=44)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
