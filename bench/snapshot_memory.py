"""Snapshots of a large database: the control plane's memory stays flat while a snapshot of a
multi-GB metadata database is saved and loaded into a new environment (dumps stream to the bucket
in parts; nothing holds a whole dump in memory).

Runs a control plane in-process in a temporary home (shared Airflow venvs) with one Airflow 3
environment, grows its metadata database by --gb of incompressible rows, then each run saves a
snapshot and loads it into a new environment (-> AVAILABLE), sampling this process's RSS every
50 ms: the control plane's peak is the figure.

    uv run python bench/snapshot_memory.py [--gb 2] [--runs 1]

Prints the database size, the dump's size, save and load times and the RSS before and at peak.
"""

from __future__ import annotations

import threading
import time

import psutil
import support

from aerodrome.app import ControlPlane

ROWS_PER_GB = 480_000  # rows of ~2 KiB of random hex (TOASTed, barely compressible)


class PeakRss:
    """The highest RSS of this process seen while the block runs."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._done = threading.Event()

    def __enter__(self) -> PeakRss:
        self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def grow(plane: ControlPlane, env_id: str, gigabytes: float) -> int:
    """Add a table of random rows to the environment's database; its size in bytes."""
    database = f"env_{env_id}"
    rows = int(gigabytes * ROWS_PER_GB)
    postgres = plane.driver.postgres
    postgres.sql("CREATE TABLE bench_fill (id bigint, payload text)", database=database)
    for start in range(0, rows, 50_000):
        postgres.sql("INSERT INTO bench_fill SELECT g, (SELECT string_agg(md5(random()::text || i || g), '') "
                     "FROM generate_series(1, 64) i) FROM generate_series("
                     f"{start}, {min(start + 50_000, rows) - 1}) g", database=database)
    return int(postgres.sql(f"SELECT pg_database_size('{database}')"))


def measure(plane: ControlPlane, runs: int, gigabytes: float) -> int:
    placement = support.create_available(plane, support.bench_spec())
    started = time.monotonic()
    size = grow(plane, placement.env_id, gigabytes)
    print(support.figure("database size", size / 2**20, "MiB", note=f"filled in {time.monotonic() - started:.0f} s"))
    baseline = psutil.Process().memory_info().rss
    print(support.figure("control plane RSS before", baseline / 2**20, "MiB"))
    saves, loads, dumps, peaks = [], [], [], []
    for run in range(runs):
        with PeakRss() as rss:
            started = time.monotonic()
            made = plane.snapshots.save("bench")
            saves.append(time.monotonic() - started)
            dumps.append(made["sizeBytes"] / 2**20)
            name = f"copy{run}"
            started = time.monotonic()
            plane.snapshots.load(made["id"], into=name)
            loaded = support.wait_status(plane, name, lambda s: s in ("AVAILABLE", "CREATE_FAILED"), 1800,
                                         f"{name} AVAILABLE", 1)
            loads.append(time.monotonic() - started)
        peaks.append(rss.peak / 2**20)
        if loaded != "AVAILABLE":
            raise SystemExit(f"{name} failed to load: {plane.environments.get(name).last_update}")
        plane.environments.delete(name)
        support.wait_status(plane, name, lambda s: s is None, 600, f"{name} deleted", 0.5)
    support.report(("save", saves, "s"), ("load into new env -> AVAILABLE", loads, "s"),
                   ("snapshot size", dumps, "MiB"), ("control plane RSS at peak", peaks, "MiB"))
    return 0


def main() -> int:
    parser = support.runs_parser(__doc__, runs=1)
    parser.add_argument("--gb", type=float, default=2.0, help="how much to grow the database by (default 2)")
    args = parser.parse_args()
    with support.started_plane({"quick.py": support.bash_dag("quick")}) as plane:
        return measure(plane, args.runs, args.gb)


if __name__ == "__main__":
    raise SystemExit(main())
