"""Figures for metrics and logs (the observability issue's targets in brackets):

- GetMetricData, 10 series x 24 h at 60 s, through the CloudWatch service  [<= 100 ms]
- ListMetrics over 10 environments' AWS/MWAA series                         [<= 50 ms]
- an alarm: a breaching datapoint -> ALARM with the alarm loop at 10 s     [<= 1 period + 10 s]
- FilterLogEvents for one correlation id over --log-mb of logs             [<= 2 s for 1 GB]
- a Logs Insights `stats count(*) by bin(5m)` over --insights-mb of logs  [<= 3 s for 1 GB]
- with --live: the AWS/MWAA collection's CPU per environment and look      [<= 2 % of a core]

    uv run python bench/observability.py [--runs 5] [--log-mb 1024] [--insights-mb 200] [--live]

Stores live in a temporary folder; nothing needs a running control plane but --live.
"""

from __future__ import annotations

import datetime
import random
import statistics
import tempfile
import time
from pathlib import Path

import support

from aerodrome.reconcile.every import Every
from aerodrome.services.cloudwatch import CloudWatchService
from aerodrome.services.cloudwatch_documents import CloudWatchDocuments
from aerodrome.services.cloudwatch_logs import LogsService
from aerodrome.telemetry.documents import Documents
from aerodrome.telemetry.log_store import LogStore
from aerodrome.telemetry.metric_store import Datapoint, MetricStore, dimensions_of

CLUSTERS = ("Scheduler", "WebServer", "BaseWorker", "AdditionalWorker")


def timed(call, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def metrics(folder: Path, runs: int) -> None:
    store = MetricStore(folder / "metrics.db")
    service = CloudWatchService(store)
    end = int(time.time()) // 60 * 60
    start = end - 86400
    points = []
    for env in range(10):
        for cluster in CLUSTERS:
            for name in ("CPUUtilization", "MemoryUtilization"):
                dims = dimensions_of([("Environment", f"env{env}"), ("Cluster", cluster)])
                points += [Datapoint("AWS/MWAA", name, dims, t, v, 1, v, v, "Percent")
                           for t, v in ((t, random.random() * 100) for t in range(start, end, 60))]
    store.put(points)
    queries = [{"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": "AWS/MWAA", "MetricName": "CPUUtilization",
                                                        "Dimensions": [{"Name": "Environment", "Value": f"env{i}"},
                                                                       {"Name": "Cluster", "Value": "Scheduler"}]},
                                             "Period": 60, "Stat": "Average"}} for i in range(10)]
    window = {"StartTime": datetime.datetime.fromtimestamp(start, datetime.UTC),
              "EndTime": datetime.datetime.fromtimestamp(end, datetime.UTC)}
    got = service.get_metric_data({"MetricDataQueries": queries, **window})
    assert sum(len(r["Values"]) for r in got["MetricDataResults"]) == 10 * 1440
    support.report(("GetMetricData 10 series x 24 h", timed(
        lambda: service.get_metric_data({"MetricDataQueries": queries, **window}), runs), "ms"),
        ("ListMetrics, 10 environments", timed(lambda: service.list_metrics({"Namespace": "AWS/MWAA"}), runs), "ms"))

    changed: list[float] = []
    documents = Documents(folder / "metrics.db")
    alarms = CloudWatchDocuments(documents, service, region="us-east-1", account="0",
                                 notify=lambda *change: changed.append(time.monotonic()))
    delays = []
    loop = Every(10.0, alarms.evaluate_alarms, name="alarms")
    loop.start()
    for run in range(min(runs, 3)):
        alarms.put_metric_alarm({"AlarmName": f"a{run}", "Namespace": "Bench", "MetricName": f"Queued{run}",
                                 "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 5,
                                 "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"})
        ok_first = 2 * run + 1
        support.wait(lambda n=ok_first: len(changed) == n, 30, "the alarm to be OK first", 0.1)
        put = time.monotonic()
        service.put_metric_data({"Namespace": "Bench", "MetricData": [{"MetricName": f"Queued{run}", "Value": 9}]})
        support.wait(lambda n=ok_first + 1: len(changed) == n, 90, "ALARM", 0.1)
        delays.append(changed[-1] - put)
    loop.stop()
    support.report(("breach -> ALARM event (10 s loop)", delays, "s"))
    documents.close()
    store.close()


def logs(folder: Path, runs: int, log_mb: int, insights_mb: int) -> None:
    store = LogStore(folder / "logs.db")
    service = LogsService(store, region="us-east-1", account="0")
    start = int(time.time() * 1000) - 3_600_000
    for group, megabytes in (("filter", log_mb), ("insights", insights_mb)):
        store.create_group(group)
        line = ("[{t}] {{taskinstance.py:1}} INFO - dag_id=etl run_id=manual__{run} task_id=load rows loaded "
                "into the warehouse table in batch {i}; " + "x" * 80)
        count = megabytes * 1024 * 1024 // (len(line) + 40)
        started = time.monotonic()
        for first in range(0, count, 50_000):
            batch = [(start + i * 3_600_000 // count, line.format(t=i, run=i % 5000, i=i))
                     for i in range(first, min(first + 50_000, count))]
            store.append(group, f"stream-{first // 500_000}", batch)
        print(support.figure(f"{group}: events stored", count, "events",
                             note=f"~{megabytes} MB of messages in {time.monotonic() - started:.0f} s"))
    wanted = "manual__4242 "
    found = service.filter_log_events({"logGroupName": "filter", "filterPattern": f'"{wanted}"'})
    assert found["events"] and all(wanted in e["message"] for e in found["events"])
    support.report((f"FilterLogEvents, one run id, {log_mb} MB", timed(
        lambda: service.filter_log_events({"logGroupName": "filter", "filterPattern": f'"{wanted}"'}), runs), "ms"))

    def insights() -> None:
        query_id = service.start_query({"logGroupName": "insights", "startTime": start // 1000 - 60,
                                        "endTime": start // 1000 + 3660,
                                        "queryString": "stats count(*) as n by bin(5m)"})["queryId"]
        support.wait(lambda: service.get_query_results({"queryId": query_id})["status"] == "Complete", 900,
                     "the query", 0.05)

    support.report((f"Insights stats by bin(5m), {insights_mb} MB", timed(insights, max(1, runs // 2)), "ms"))
    service.close()
    store.close()


def live() -> None:
    """One Airflow 3 environment on a started plane: the collector's CPU per look."""
    import psutil

    with support.started_plane({"quick.py": support.bash_dag("quick")}, metrics_interval=3600.0) as plane:
        support.create_available(plane, support.bench_spec())
        plane.collector.collect()
        costs = []
        for _ in range(10):
            process = psutil.Process()
            before = process.cpu_times()
            plane.collector.collect()
            after = process.cpu_times()
            costs.append((after.user + after.system - before.user - before.system) * 1000)
            time.sleep(1)
        print(support.summary("collection CPU per environment and look", costs, "ms"))
        share = statistics.median(costs) / 1000 / 60 * 100
        print(support.figure("as a share of one core at 60 s", share * 1000, "m%", note=f"{share:.3f} %"))


def main() -> int:
    import logging

    logging.basicConfig(level=logging.WARNING)
    parser = support.runs_parser(__doc__, runs=5)
    parser.add_argument("--log-mb", type=int, default=1024)
    parser.add_argument("--insights-mb", type=int, default=200)
    parser.add_argument("--live", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aerodrome-bench-") as tmp:
        metrics(Path(tmp), args.runs)
        logs(Path(tmp), args.runs, args.log_mb, args.insights_mb)
    if args.live:
        live()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
