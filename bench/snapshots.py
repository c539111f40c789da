"""Figures for snapshots: save duration (the environment keeps running), load into a new
environment -> AVAILABLE, and the snapshot's size. Runs a control plane in-process in a temporary
home (shared Airflow venvs) with one Airflow 3 environment that has run a DAG; each run saves,
loads the snapshot into a new environment, waits for AVAILABLE, then deletes that environment.

    uv run python bench/snapshots.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lifecycle import DAG, SHARED_VENVS, Rest, free_port, summary, wait

from aerodrome.app import ControlPlane
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.base import Placement
from aerodrome.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first_port = free_port()
        settings = Settings(home=Path(tmp) / "home", port=free_port(), s3_port=free_port(), serve_s3=False,
                            venv_root=SHARED_VENVS if SHARED_VENVS.exists() else None,
                            env_port_min=first_port, env_port_max=first_port + 40)
        (settings.buckets_dir / "bench" / "dags").mkdir(parents=True)
        (settings.buckets_dir / "bench" / "dags" / "quick.py").write_bytes(DAG)
        plane = ControlPlane(settings)
        plane.start()
        try:
            return measure(plane, args.runs)
        finally:
            plane.close()


def status(plane: ControlPlane, name: str) -> str | None:
    try:
        return plane.environments.get(name).status.value
    except Exception:  # noqa: BLE001 - gone
        return None


def measure(plane: ControlPlane, runs: int) -> int:
    spec = EnvironmentSpec(name="bench", execution_role_arn="arn:aws:iam::000000000000:role/x",
                           source_bucket_arn="arn:aws:s3:::bench", dag_s3_path="dags",
                           airflow_configuration_options={"core.dags_are_paused_at_creation": "False"})
    plane.environments.create(spec, tags={})
    wait(lambda: status(plane, "bench") not in ("CREATING",), 900, "create", 0.5)
    rest = Rest(plane, Placement.from_json(plane.environments.placement("bench")))
    wait(lambda: rest_ok(rest), 300, "the DAG", 1)
    rest.run_to_success()
    saves, loads, sizes = [], [], []
    for run in range(runs):
        started = time.monotonic()
        made = plane.snapshots.save("bench")
        saves.append(time.monotonic() - started)
        sizes.append(made["sizeBytes"] / 1024)
        name = f"copy{run}"
        started = time.monotonic()
        plane.snapshots.load(made["id"], into=name)
        wait(lambda name=name: status(plane, name) in ("AVAILABLE", "CREATE_FAILED"), 900, f"{name} AVAILABLE", 0.2)
        loads.append(time.monotonic() - started)
        if status(plane, name) != "AVAILABLE":
            raise SystemExit(f"{name} failed to load")
        plane.environments.delete(name)
        wait(lambda name=name: status(plane, name) is None, 300, f"{name} deleted", 0.5)
    print(summary("save", saves, "s"))
    print(summary("load into new env -> AVAILABLE", loads, "s"))
    print(summary("snapshot size", sizes, "KiB"))
    return 0


def rest_ok(rest: Rest) -> bool:
    import httpx

    try:
        return httpx.get(f"{rest.base}/api/v2/dags/quick", headers=rest.headers, timeout=60).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
