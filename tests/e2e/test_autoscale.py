"""Worker autoscaling with real Airflow: a burst of tasks on mw1.small (5 per worker) scales the
workers out to MaxWorkers, and the lull after it drains them back to MinWorkers; no task fails."""

import datetime
import time

import boto3
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import (
    UNPAUSED,
    ask,
    busy_workers,
    clients_of,
    connect,
    create,
    events_of,
    gated,
    release_file,
    wait_for,
    worker_count,
    worker_pids,
)

pytestmark = pytest.mark.e2e

BURST = '''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("burst", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False, max_active_tasks=32):
    for index in range(12):
        BashOperator(task_id=f"t{index}", bash_command="GATE")
'''


@pytest.fixture
def plane(plane_factory):  # of its own: it scales in after a 15 s lull; metrics every 2 s, alarms every 2 s
    with plane_factory(scale_in_after=15.0, metrics_interval=2.0, alarm_interval=2.0) as control_plane:
        yield control_plane


def back_to_one(plane, placement) -> bool:
    serving, draining = worker_pids(plane, placement)
    return len(serving) == 1 and draining == []


def scale_events(plane, name):
    return [e["detail"] for e in events_of(plane, name, "Aerodrome Environment Scaling")]


def test_a_burst_scales_out_and_the_lull_drains_back(plane, tmp_path):
    mwaa, s3 = clients_of(plane)
    release = release_file(tmp_path)
    env = create(mwaa, s3, "auto", "auto-bucket", gated(BURST, release),
                 EnvironmentClass="mw1.small", MinWorkers=1, MaxWorkers=3, AirflowConfigurationOptions=UNPAUSED)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = connect(plane, "auto")
    placement = airflow.placement
    wait_for(ask(lambda: airflow.get("/dags/burst").status_code == 200), timeout=180, what="the DAG")
    assert worker_count(plane, "auto", placement) == 1

    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=10)
    cloudwatch = _cloudwatch(plane)
    cloudwatch.put_metric_alarm(  # as the utilization post watches the queue
        AlarmName="auto-queue", Namespace="AWS/MWAA", MetricName="QueuedTasks", Statistic="Maximum", Period=10,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "Environment", "Value": "auto"}, {"Name": "Queue", "Value": "default"}])
    spike = time.monotonic()
    run = airflow.post("/dags/burst/dagRuns", {"logical_date": None}).json()["dag_run_id"]
    wait_for(lambda: busy_workers(plane, placement) >= 2, timeout=300, interval=0.5,
             what="a second worker running a task")
    reaction = time.monotonic() - spike
    # the tasks hold their gate until the burst has scaled the workers out to MaxWorkers
    wait_for(lambda: max((e["to"] for e in scale_events(plane, "auto")), default=1) == 3, timeout=300,
             interval=0.5, what="a scale-out to MaxWorkers")
    release.touch()
    wait_for(ask(lambda: airflow.state(f"/dags/burst/dagRuns/{run}") in ("success", "failed")), timeout=600,
             what="the burst to finish")
    assert airflow.state(f"/dags/burst/dagRuns/{run}") == "success"

    wait_for(lambda: back_to_one(plane, placement),
             timeout=300, interval=1, what="the workers to drain back to MinWorkers")
    events = scale_events(plane, "auto")
    assert events[0]["from"] == 1 and events[0]["to"] > 1 and events[0]["queued"] + events[0]["running"] > 5
    assert max(e["to"] for e in events) == 3
    assert events[-1]["to"] == 1 and all(e["to"] == e["from"] - 1 for e in events if e["to"] < e["from"])
    assert all(e["arn"] == env["Arn"] for e in events)
    assert worker_count(plane, "auto", placement) == 1
    assert airflow.failed_task_instances() == 0
    instances = airflow.get(f"/dags/burst/dagRuns/{run}/taskInstances").json()["task_instances"]
    assert sorted((t["state"], t["try_number"]) for t in instances) == [("success", 1)] * 12
    print(f"autoscale reaction {reaction:.1f} s; events {[(e['from'], e['to']) for e in events]}")
    _metrics_followed_the_scale(plane, started)
    # the queue alarm went off with the burst and came back when the queue emptied, each change an event
    states = wait_for(lambda: (s := [e["detail"]["state"]["value"] for e in
                                     events_of(plane, "auto", "CloudWatch Alarm State Change")])[-1:] == ["OK"] and s,
                      timeout=60, what="the queue alarm back to OK")
    assert "ALARM" in states and states.index("ALARM") < len(states) - 1, states
    history = cloudwatch.describe_alarm_history(AlarmName="auto-queue", HistoryItemType="StateUpdate")
    assert any(i["HistorySummary"].endswith("to ALARM") for i in history["AlarmHistoryItems"])


def _cloudwatch(plane):
    key, secret = plane.credentials.admin()
    return boto3.client("cloudwatch", endpoint_url=plane.settings.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def _metrics_followed_the_scale(plane, started):
    """CloudWatch's AWS/MWAA metrics, read with boto3, saw the workers go 1 -> 3 -> 1 and the queue fill."""
    cloudwatch = _cloudwatch(plane)
    env = [{"Name": "Environment", "Value": "auto"}]

    def read():
        end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)
        reply = cloudwatch.get_metric_data(StartTime=started, EndTime=end, ScanBy="TimestampAscending",
                                           MetricDataQueries=[
            {"Id": "base", "MetricStat": {"Metric": {"Namespace": "AWS/MWAA", "MetricName": "NumWorkers",
                                                     "Dimensions": env}, "Period": 1, "Stat": "Maximum"}},
            {"Id": "more", "MetricStat": {"Metric": {"Namespace": "AWS/MWAA", "MetricName": "NumAdditionalWorkers",
                                                     "Dimensions": env}, "Period": 1, "Stat": "Maximum"}},
            {"Id": "workers", "Expression": "base + more"},
            {"Id": "queued", "MetricStat": {"Metric": {"Namespace": "AWS/MWAA", "MetricName": "QueuedTasks",
                                                       "Dimensions": [*env, {"Name": "Queue", "Value": "default"}]},
                                            "Period": 1, "Stat": "Maximum"}}])
        return {r["Id"]: r["Values"] for r in reply["MetricDataResults"]}

    series = wait_for(lambda: (found := read())["workers"] and found["workers"][-1] == 1 and found, timeout=30,
                      what="a look at the workers after the scale-in")
    counts = [int(v) for v in series["workers"]]
    steps = [c for i, c in enumerate(counts) if i == 0 or c != counts[i - 1]]
    assert steps[0] == 1 and max(steps) == 3 and steps[-1] == 1, steps
    assert max(series["queued"]) > 0
    listed = cloudwatch.list_metrics(Namespace="AWS/MWAA", MetricName="CPUUtilization", Dimensions=env)["Metrics"]
    clusters = {d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "Cluster"}
    assert clusters == {"Scheduler", "WebServer", "BaseWorker", "AdditionalWorker"}
    database = [*env, {"Name": "Database", "Value": "WRITER"}]
    db_metrics = {m["MetricName"] for m in
                  cloudwatch.list_metrics(Namespace="AWS/MWAA", Dimensions=database)["Metrics"]}
    assert {"CPUUtilization", "DatabaseConnections", "FreeableMemory", "ReadIOPS", "WriteThroughput"} <= db_metrics
    connections = cloudwatch.get_metric_statistics(
        Namespace="AWS/MWAA", MetricName="DatabaseConnections", Dimensions=database, StartTime=started,
        EndTime=datetime.datetime.now(datetime.UTC), Period=60, Statistics=["Maximum"])["Datapoints"]
    assert max(p["Maximum"] for p in connections) > 0
    # Airflow's own StatsD metrics, under MWAA's names
    airflow_metrics = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AmazonMWAA", Dimensions=env)[
        "Metrics"]}
    assert {"SchedulerHeartbeat", "TaskInstanceFinished"} <= airflow_metrics, airflow_metrics
    # and all of it for Prometheus, read with its own parser
    token = plane.settings.metrics_token_file.read_text().strip()
    scraped = httpx.get(f"{plane.settings.endpoint_url}/metrics", headers={"Authorization": f"Bearer {token}"})
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    cpu = {s.labels["Cluster"] for s in families["aws_mwaa_CPUUtilization"].samples
           if s.labels["Environment"] == "auto" and s.labels["Cluster"]}  # the database's has no Cluster
    assert cpu == clusters and "amazonmwaa_SchedulerHeartbeat" in families
