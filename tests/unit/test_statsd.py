"""Airflow's StatsD metrics: MWAA's names and dimensions, statistic sets per flush, prefixes that
name an environment (others dropped), over real UDP."""

import socket

import pytest

from aerodrome.domain.statsd_names import to_cloudwatch
from aerodrome.telemetry.statsd import StatsdListener, stable_port
from tests.support import wait_for


@pytest.mark.parametrize("name, metric, dimensions", [
    ("scheduler_heartbeat", "SchedulerHeartbeat", {"Function": "Scheduler"}),
    ("executor.open_slots.CeleryExecutor", "OpenSlots", {"Function": "Executor"}),
    ("pool.open_slots.default_pool", "PoolOpenSlots", {"Pool": "default_pool"}),
    ("dagrun.duration.success.etl", "DAGDurationSuccess", {"DAG": "etl"}),
    ("dag.etl.load.duration", "TaskInstanceDuration", {"DAG": "etl", "Task": "load"}),
    ("ti.finish.etl.load.success", "TaskInstanceFinished", {"DAG": "etl", "Task": "load", "State": "success"}),
    ("dag_processing.last_duration.etl_dag", "DAGFileProcessingLastDuration", {"DAG Filename": "etl_dag"}),
    ("operator_successes_BashOperator", "OperatorSuccesses", {"Operator": "BashOperator"}),
    ("scheduler_job_start", "JobStart", {"Job": "scheduler_job"}),
    ("some.new_metric", "SomeNewMetric", {}),
])
def test_airflow_names_become_mwaas(name, metric, dimensions):
    assert to_cloudwatch(name) == (metric, dimensions)


def test_counters_gauges_and_timers_fold_into_statistic_sets_per_environment():
    sunk = []
    listener = StatsdListener(0, resolve={"mA": "dev", "mB": "prod"}.get, sink=lambda ns, data: sunk.append((ns, data)))
    taken = listener.handle(b"mA.ti_successes:1|c\nmA.ti_successes:2|c|@0.5\nmA.pool.open_slots.default_pool:128|g\n"
                            b"mA.pool.open_slots.default_pool:-28|g\nmB.dag.etl.load.duration:250|ms\n"
                            b"mX.ti_successes:1|c\nmA.broken|c\n")
    assert taken == 5  # the unknown prefix and the broken line are dropped
    assert listener.flush() == 3
    by_env = {data[0]["Dimensions"][0]["Value"]: data for _, data in sunk}
    assert {ns for ns, _ in sunk} == {"AmazonMWAA"}
    dev = {d["MetricName"]: d for d in by_env["dev"]}
    assert dev["TaskInstanceSuccesses"]["StatisticValues"] == {"Sum": 5.0, "SampleCount": 2.0, "Minimum": 1.0,
                                                              "Maximum": 4.0}
    assert dev["PoolOpenSlots"]["StatisticValues"]["Maximum"] == 128 and \
        dev["PoolOpenSlots"]["StatisticValues"]["Minimum"] == 100
    assert dev["PoolOpenSlots"]["Dimensions"][1] == {"Name": "Pool", "Value": "default_pool"}
    (prod,) = by_env["prod"]
    assert prod["Unit"] == "Milliseconds" and prod["StatisticValues"]["Sum"] == 250
    assert listener.flush() == 0


def test_packets_arrive_over_udp_on_a_port_that_stays(tmp_path):
    port = stable_port(tmp_path / "statsd.port")
    assert stable_port(tmp_path / "statsd.port") == port
    sunk = []
    listener = StatsdListener(port, resolve={"mA": "dev"}.get, sink=lambda ns, data: sunk.extend(data), flush=0.2)
    listener.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"mA.scheduler_heartbeat:1|c", ("127.0.0.1", port))
            wait_for(lambda: sunk, timeout=10, what="the flushed heartbeat")
    finally:
        listener.stop()
    assert sunk[0]["MetricName"] == "SchedulerHeartbeat"
