"""Figures for in-place Airflow version changes: upgrade 2.11.2 -> 3.3.2 (update call -> AVAILABLE),
downgrade 3.3.2 -> 2.11.2 (-> AVAILABLE), and the rollback of an upgrade the DAGs cannot take (call ->
UPDATE_FAILED). Runs a control plane in-process in a temporary home (shared Airflow venvs), one
environment created on 2.11.2, and repeats the cycle.

    uv run python bench/upgrade.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import support

from aerodrome.app import ControlPlane

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the same DAGs as the e2e test
from tests.e2e.test_version_change import BOTH, ONLY_V2

SETTLED = ("AVAILABLE", "UPDATE_FAILED", "UNAVAILABLE")


def change(plane: ControlPlane, version: str, expect: str) -> float:
    started = time.monotonic()
    plane.environments.update("bench", changes={"airflow_version": version})
    settled = support.wait_status(plane, "bench", lambda s: s in SETTLED, 1200, f"the change to {version}", 0.5)
    if settled != expect:
        raise SystemExit(f"expected {expect}, got {settled}: {plane.environments.get('bench').last_update}")
    return time.monotonic() - started


def measure(plane: ControlPlane, runs: int) -> int:
    dags = plane.settings.buckets_dir / support.BUCKET / "dags"
    placement = support.create_available(plane, support.bench_spec(airflow_version="2.11.2"))

    def parsed(name: str) -> bool:
        return name in plane.driver.parse_report(placement, since=0).parsed

    support.wait(lambda: parsed("both.py"), 300, "the DAG on 2.11.2", 1)
    upgrade, downgrade, rollback = [], [], []
    for _ in range(runs):
        upgrade.append(change(plane, "3.3.2", "AVAILABLE"))
        downgrade.append(change(plane, "2.11.2", "AVAILABLE"))
        (dags / "legacy.py").write_bytes(ONLY_V2)
        support.wait(lambda: parsed("legacy.py"), 300, "legacy.py on 2.11.2", 1)
        rollback.append(change(plane, "3.3.2", "UPDATE_FAILED"))
        (dags / "legacy.py").unlink()
        support.wait(lambda: not (placement.dags_dir / "legacy.py").exists(), 120, "legacy.py to go", 1)
    support.report(("upgrade 2.11.2 -> 3.3.2 (AVAILABLE)", upgrade, "s"),
                   ("downgrade 3.3.2 -> 2.11.2 (AVAILABLE)", downgrade, "s"),
                   ("failing upgrade -> UPDATE_FAILED", rollback, "s"))
    return 0


if __name__ == "__main__":
    raise SystemExit(support.plane_bench(__doc__, {"both.py": BOTH}, measure))
