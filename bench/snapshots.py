"""Figures for snapshots: save duration (the environment keeps running), load into a new
environment -> AVAILABLE, and the snapshot's size. Runs a control plane in-process in a temporary
home (shared Airflow venvs) with one Airflow 3 environment that has run a DAG; each run saves,
loads the snapshot into a new environment, waits for AVAILABLE, then deletes that environment.

    uv run python bench/snapshots.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import time

import support

from aerodrome.app import ControlPlane


def measure(plane: ControlPlane, runs: int) -> int:
    rest = support.Rest(plane, support.create_available(plane, support.bench_spec()))
    support.wait(lambda: rest.has_dag("quick"), 300, "the DAG", 1)
    rest.run_to_success("quick")
    saves, loads, sizes = [], [], []
    for run in range(runs):
        started = time.monotonic()
        made = plane.snapshots.save("bench")
        saves.append(time.monotonic() - started)
        sizes.append(made["sizeBytes"] / 1024)
        name = f"copy{run}"
        started = time.monotonic()
        plane.snapshots.load(made["id"], into=name)
        loaded = support.wait_status(plane, name, lambda s: s in ("AVAILABLE", "CREATE_FAILED"), 900,
                                     f"{name} AVAILABLE")
        loads.append(time.monotonic() - started)
        if loaded != "AVAILABLE":
            raise SystemExit(f"{name} failed to load")
        plane.environments.delete(name)
        support.wait_status(plane, name, lambda s: s is None, 300, f"{name} deleted", 0.5)
    support.report(("save", saves, "s"), ("load into new env -> AVAILABLE", loads, "s"),
                   ("snapshot size", sizes, "KiB"))
    return 0


if __name__ == "__main__":
    raise SystemExit(support.plane_bench(__doc__, {"quick.py": support.bash_dag("quick")}, measure))
