"""Figures for in-place Airflow version changes: upgrade 2.11.2 -> 3.3.2 (update call -> AVAILABLE),
downgrade 3.3.2 -> 2.11.2 (-> AVAILABLE), and the rollback of an upgrade the DAGs cannot take (call ->
UPDATE_FAILED). Runs a control plane in-process in a temporary home (shared Airflow venvs), one
environment created on 2.11.2, and repeats the cycle.

    uv run python bench/upgrade.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lifecycle import bench_plane, summary, wait

from aerodrome.app import ControlPlane
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.base import Placement
from tests.e2e.test_version_change import BOTH, ONLY_V2

SETTLED = ("AVAILABLE", "UPDATE_FAILED", "UNAVAILABLE")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plane = bench_plane(Path(tmp), {"both.py": BOTH})
        try:
            return measure(plane, plane.settings.buckets_dir / "bench" / "dags", args.runs)
        finally:
            plane.close()


def change(plane: ControlPlane, version: str, expect: str) -> float:
    started = time.monotonic()
    plane.environments.update("bench", changes={"airflow_version": version})
    status = wait(lambda: (s := plane.environments.get("bench").status.value) in SETTLED and s, 1200,
                  f"the change to {version}", 0.5)
    if status != expect:
        raise SystemExit(f"expected {expect}, got {status}: {plane.environments.get('bench').last_update}")
    return time.monotonic() - started


def measure(plane: ControlPlane, dags: Path, runs: int) -> int:
    spec = EnvironmentSpec(name="bench", execution_role_arn="arn:aws:iam::000000000000:role/x",
                           source_bucket_arn="arn:aws:s3:::bench", dag_s3_path="dags", airflow_version="2.11.2",
                           airflow_configuration_options={"core.dags_are_paused_at_creation": "False"})
    plane.environments.create(spec, tags={})
    wait(lambda: plane.environments.get("bench").status.value != "CREATING", 900, "create", 0.5)
    placement = Placement.from_json(plane.environments.placement("bench"))
    parsed = lambda name: name in plane.driver.parse_report(placement, since=0).parsed  # noqa: E731
    wait(lambda: parsed("both.py"), 300, "the DAG on 2.11.2", 1)
    upgrade, downgrade, rollback = [], [], []
    for _ in range(runs):
        upgrade.append(change(plane, "3.3.2", "AVAILABLE"))
        downgrade.append(change(plane, "2.11.2", "AVAILABLE"))
        (dags / "legacy.py").write_bytes(ONLY_V2)
        wait(lambda: parsed("legacy.py"), 300, "legacy.py on 2.11.2", 1)
        rollback.append(change(plane, "3.3.2", "UPDATE_FAILED"))
        (dags / "legacy.py").unlink()
        wait(lambda: not (placement.dags_dir / "legacy.py").exists(), 120, "legacy.py to go", 1)
    print(summary("upgrade 2.11.2 -> 3.3.2 (AVAILABLE)", upgrade, "s"))
    print(summary("downgrade 3.3.2 -> 2.11.2 (AVAILABLE)", downgrade, "s"))
    print(summary("failing upgrade -> UPDATE_FAILED", rollback, "s"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
