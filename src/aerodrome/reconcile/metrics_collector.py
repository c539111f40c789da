"""The `AWS/MWAA` metrics of every AVAILABLE environment, collected every `interval` seconds (60 by
default, MWAA's period) into the metric store, where CloudWatch's API reads them.

    CPUUtilization, MemoryUtilization   dims Environment + Cluster: Scheduler (scheduler,
                                        dag-processor, triggerer), WebServer (api-server),
                                        BaseWorker (worker-1), AdditionalWorker (the others);
                                        each process with its children. CPU is in percent of one
                                        core, only for a cluster whose every process has a
                                        baseline (see `cpu_used`); memory in percent of the host's
                                        memory.
    QueuedTasks, RunningTasks           dims Environment + Queue (Airflow's `default` queue)
    CPUUtilization, DatabaseConnections, dims Environment + Database (WRITER): the environment's
    FreeableMemory, ReadIOPS,           database on the real PostgreSQL (its server processes' CPU,
    WriteThroughput, ReadLatency        connections, blocks read per second, rows written per second,
                                        ms per block read when track_io_timing is on; free memory of the host)
    NumWorkers, NumAdditionalWorkers,   dims Environment
    NumSchedulers, NumWebServers

Collected more often than once a minute, they are stored at high resolution (1 s buckets), as
CloudWatch keeps metrics put with StorageResolution 1. The same loop drops datapoints past the
retention once an hour.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

from aerodrome.domain.placement import Placement
from aerodrome.domain.status import Status
from aerodrome.runtimes.base import ComponentState, RuntimeDriver
from aerodrome.services.cloudwatch import CloudWatchService
from aerodrome.store import environments
from aerodrome.store.db import Store
from aerodrome.telemetry.metric_store import MetricStore

log = logging.getLogger(__name__)

NAMESPACE = "AWS/MWAA"
QUEUE = "default"
PRUNE_EVERY = 3600.0

Key = tuple[int, float]  # a process: pid and start time (a reused pid is another process)


@dataclass(frozen=True)
class Sample:
    """One process at one look."""

    key: Key
    cpu: float  # user + system seconds since it started
    rss: float


def cpu_used(samples: list[Sample], before: Mapping[Key, float], *, since: float | None) -> float | None:
    """CPU seconds a cluster's processes used since the last look (taken at `since`), from their CPU
    seconds then (`before`); None when one of them has no baseline: it ran then but was not seen
    (the collector's first look, an environment that just became available), so counting it as idle
    would report a false 0 %. A process started after that look has used all its CPU since."""
    if since is None:
        return None
    used = 0.0
    for sample in samples:
        if sample.key in before:
            used += max(sample.cpu - before[sample.key], 0.0)
        elif sample.key[1] > since:
            used += sample.cpu
        else:
            return None
    return used


def cluster_of(component: str) -> str | None:
    if component.startswith(("scheduler", "dag-processor", "triggerer")):
        return "Scheduler"
    if component.startswith("api-server") or component.startswith("webserver"):
        return "WebServer"
    if component == "worker-1":
        return "BaseWorker"
    if component.startswith("worker-"):
        return "AdditionalWorker"
    return None


class MetricsCollector:
    def __init__(self, *, store: Store, driver: RuntimeDriver, cloudwatch: CloudWatchService,
                 metric_store: MetricStore, interval: float = 60.0):
        self._store = store
        self._driver = driver
        self._cloudwatch = cloudwatch
        self._metric_store = metric_store
        self._interval = interval
        self._cpu: dict[Key, float] = {}  # CPU seconds of each process at the last look
        self._database: dict[str, dict[str, float]] = {}  # environment -> its database figures at the last look
        self._last: float | None = None
        self._pruned = time.monotonic()

    def collect(self) -> int:
        """Collect once; how many datapoints were written."""
        now = time.time()
        since, self._last = self._last, now
        with self._store.session() as session:
            records = [r for r in environments.all_records(session=session) if r.status == Status.AVAILABLE]
        cpu_seen: dict[Key, float] = {}
        written = 0
        for record in records:
            try:
                data = self._environment(record, since, now, cpu_seen)
            except Exception:
                log.exception("collecting the metrics of %s failed", record.name)
                continue
            if data:
                resolution = 1 if self._interval < 60 else 60
                for item in data:
                    item["StorageResolution"] = resolution
                self._cloudwatch.put_metric_data({"Namespace": NAMESPACE, "MetricData": data}, internal=True)
                written += len(data)
        self._cpu = cpu_seen
        return written

    def _environment(self, record: environments.EnvironmentRecord, since: float | None, now: float,
                     cpu_seen: dict[Key, float]) -> list[dict]:
        spec = record.applied_spec or record.spec
        placement = record.placement
        env = {"Name": "Environment", "Value": record.name}
        observed = self._driver.observe(spec, placement)
        total_memory = psutil.virtual_memory().total
        clusters: dict[str, list[Sample]] = {}
        for component in observed.components:
            cluster = cluster_of(component.name)
            if cluster is None or not component.running or component.pid is None:
                continue
            clusters.setdefault(cluster, []).extend(samples(component))
        data = []
        for cluster, taken in sorted(clusters.items()):
            cpu_seen.update((sample.key, sample.cpu) for sample in taken)
            dims = [env, {"Name": "Cluster", "Value": cluster}]
            data.append({"MetricName": "MemoryUtilization", "Dimensions": dims, "Unit": "Percent",
                         "Value": 100.0 * sum(sample.rss for sample in taken) / total_memory})
            used = cpu_used(taken, self._cpu, since=since)
            if used is not None and since is not None and now > since:
                data.append({"MetricName": "CPUUtilization", "Dimensions": dims, "Unit": "Percent",
                             "Value": 100.0 * used / (now - since)})
        queued, running = self._driver.task_counts(placement)
        queue = [env, {"Name": "Queue", "Value": QUEUE}]
        data += [{"MetricName": "QueuedTasks", "Dimensions": queue, "Unit": "Count", "Value": float(queued)},
                 {"MetricName": "RunningTasks", "Dimensions": queue, "Unit": "Count", "Value": float(running)}]
        data += self._database_data(record.name, placement, now - since if since else None)
        names = [c.name for c in observed.components if c.running]
        workers = sum(1 for n in names if n.startswith("worker-"))
        counts = {"NumWorkers": min(workers, 1), "NumAdditionalWorkers": max(workers - 1, 0),
                  "NumSchedulers": sum(1 for n in names if n.startswith("scheduler")),
                  "NumWebServers": sum(1 for n in names if cluster_of(n) == "WebServer")}
        data += [{"MetricName": name, "Dimensions": [env], "Unit": "Count", "Value": float(value)}
                 for name, value in counts.items()]
        return data

    def _database_data(self, name: str, placement: Placement, elapsed: float | None) -> list[dict]:
        now = self._driver.database_figures(placement)
        before, self._database[name] = self._database.get(name), now
        if not now:
            return []
        dims = [{"Name": "Environment", "Value": name}, {"Name": "Database", "Value": "WRITER"}]
        data = [{"MetricName": "DatabaseConnections", "Dimensions": dims, "Unit": "Count",
                 "Value": now["connections"]},
                {"MetricName": "FreeableMemory", "Dimensions": dims, "Unit": "Bytes",
                 "Value": float(psutil.virtual_memory().available)}]
        if before and elapsed:
            def rate(key: str) -> float:
                return max(now[key] - before.get(key, 0.0), 0.0) / elapsed

            blocks = max(now["blocks_read"] - before.get("blocks_read", 0.0), 0.0)
            data += [{"MetricName": "CPUUtilization", "Dimensions": dims, "Unit": "Percent",
                      "Value": 100.0 * rate("cpu_seconds")},
                     {"MetricName": "ReadIOPS", "Dimensions": dims, "Unit": "Count/Second",
                      "Value": rate("blocks_read")},
                     {"MetricName": "WriteThroughput", "Dimensions": dims, "Unit": "Count/Second",
                      "Value": rate("rows_written")}]
            if blocks and now["read_ms"]:
                data.append({"MetricName": "ReadLatency", "Dimensions": dims, "Unit": "Milliseconds",
                             "Value": max(now["read_ms"] - before.get("read_ms", 0.0), 0.0) / blocks})
        return data

    def tick(self) -> None:
        """What the control plane runs every `interval` (the first look gives CPU its baseline)."""
        self.collect()
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            self._metric_store.prune()
            self._pruned = time.monotonic()


def samples(component: ComponentState) -> list[Sample]:
    """A component's process and its children, as they are now (those that exit meanwhile left out)."""
    assert component.pid is not None
    try:
        root = psutil.Process(component.pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    taken = []
    for process in processes:
        try:
            with process.oneshot():
                times = process.cpu_times()
                taken.append(Sample((process.pid, process.create_time()), times.user + times.system,
                                    float(process.memory_info().rss)))
        except psutil.Error:
            continue
    return taken
