"""Figures for hibernate and resume: hibernate -> HIBERNATED, resume -> AVAILABLE, resume -> first
task finished, and the memory hibernation frees. Runs a control plane in-process in a temporary
home (shared Airflow venvs), one Airflow 3 environment, and repeats the cycle.

    uv run python bench/lifecycle.py [--runs 3]

Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import support

from aerodrome.app import ControlPlane


def env_rss_mb(root: Path) -> float:
    total = 0
    for process in psutil.process_iter(["cwd", "memory_info"]):
        try:
            if process.info["cwd"] and process.info["cwd"].startswith(str(root)) and process.info["memory_info"]:
                total += process.info["memory_info"].rss
        except psutil.Error:
            pass
    return total / 2**20


def measure(plane: ControlPlane, runs: int) -> int:
    placement = support.create_available(plane, support.bench_spec(), timeout=600)
    rest = support.Rest(plane, placement)
    support.wait(lambda: rest.has_dag("quick"), 120, "the DAG")
    rest.run_to_success("quick")
    hibernate, resume, first_task, freed = [], [], [], []
    for _ in range(runs):
        time.sleep(5)  # let memory settle after start
        before = env_rss_mb(placement.root)
        started = time.monotonic()
        plane.lifecycle.hibernate("bench")
        support.wait_status(plane, "bench", lambda s: s == "HIBERNATED", 120, "HIBERNATED", 0.1)
        hibernate.append(time.monotonic() - started)
        freed.append(before - env_rss_mb(placement.root))
        started = time.monotonic()
        plane.lifecycle.resume("bench")
        support.wait_status(plane, "bench", lambda s: s == "AVAILABLE", 300, "AVAILABLE", 0.1)
        resume.append(time.monotonic() - started)
        support.Rest(plane, placement).run_to_success("quick")
        first_task.append(time.monotonic() - started)
    support.report(("hibernate -> HIBERNATED", hibernate, "s"), ("resume -> AVAILABLE", resume, "s"),
                   ("resume -> first task finished", first_task, "s"),
                   ("memory freed by hibernation", freed, "MiB"))
    return 0


if __name__ == "__main__":
    raise SystemExit(support.plane_bench(__doc__, {"quick.py": support.bash_dag("quick")}, measure))
