"""CloudWatch Logs with real boto3 (awsJson1_1) and the AWS CLI: an environment's log files shipped
into its MWAA-named groups, reading and filtering them, and groups that clients create."""

import json
import socket
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from aerodrome.reconcile.log_shipper import LogShipper, timestamp_of
from tests.support import aws_cli, minimal, wait_for

T0 = int(time.time() * 1000) - 60_000


@pytest.fixture
def logs(control_plane):
    return boto3.client("logs", endpoint_url=control_plane["url"], region_name="us-east-1",
                        aws_access_key_id=control_plane["key"], aws_secret_access_key=control_plane["secret"],
                        config=Config(retries={"max_attempts": 1}))


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}+0000"


def test_an_environments_log_files_reach_its_groups_and_read_back(mwaa, logs, control_plane, store):
    mwaa.create_environment(**minimal(LoggingConfiguration={
        "TaskLogs": {"Enabled": True, "LogLevel": "INFO"}, "SchedulerLogs": {"Enabled": True, "LogLevel": "INFO"},
        "WorkerLogs": {"Enabled": False, "LogLevel": "INFO"}}))
    arns = {k: v.get("CloudWatchLogGroupArn") for k, v in
            mwaa.get_environment(Name="dev")["Environment"]["LoggingConfiguration"].items()}
    assert arns["TaskLogs"].endswith(":log-group:airflow-dev-Task") and arns["WorkerLogs"] is None
    folder = control_plane["environments"].placement("dev").logs_dir
    task = folder / "task" / "dag_id=etl" / "run_id=manual__2026-12-02T10:00:00+00:00" / "task_id=load"
    task.mkdir(parents=True)
    (task / "attempt=1.log").write_text("".join(
        json.dumps({"timestamp": iso(T0 + i * 1000).replace("+0000", "Z"), "level": "info",
                    "event": f"row batch {i}", "correlation_id": "run-42"}) + "\n" for i in range(3)))
    (folder / "scheduler-1.log").write_text(f"[{iso(T0)}] {{job.py:1}} INFO - scheduling run-42\n"
                                            f"[{iso(T0 + 5)}] {{job.py:2}} ERROR - run-42 failed\n"
                                            "Traceback line without a time\npartial line")
    (folder / "worker-1.log").write_text(f"[{iso(T0)}] INFO - not shipped: worker logs are off\n")
    shipper = LogShipper(store=store, logs=control_plane["log_store"])
    assert shipper.ship() == 6  # 3 task lines, 3 whole scheduler lines (the partial one waits)
    assert shipper.ship() == 0  # nothing read twice
    with open(folder / "scheduler-1.log", "a") as handle:
        handle.write(" now whole\n")
    assert shipper.ship() == 1

    groups = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="airflow-dev-")["logGroups"]]
    assert groups == ["airflow-dev-Scheduler", "airflow-dev-Task"]
    streams = logs.describe_log_streams(logGroupName="airflow-dev-Task")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [
        "dag_id=etl/run_id=manual__2026-12-02T10_00_00+00_00/task_id=load/attempt=1.log"]
    (scheduler,) = [s["logStreamName"] for s in logs.describe_log_streams(
        logGroupName="airflow-dev-Scheduler", logStreamNamePrefix="scheduler-1_")["logStreams"]]
    assert scheduler.startswith(f"scheduler-1_{socket.gethostname()}_") and scheduler.endswith(".log")
    assert logs.describe_log_groups(logGroupNamePrefix="airflow-dev-Task")["logGroups"][0]["retentionInDays"] == 14
    got = logs.get_log_events(logGroupName="airflow-dev-Scheduler", logStreamName=scheduler, startFromHead=True)
    assert [e["timestamp"] for e in got["events"]] == [T0, T0 + 5, T0 + 5, T0 + 5]  # the traceback keeps the time
    assert got["events"][-1]["message"] == "partial line now whole"
    again = logs.get_log_events(logGroupName="airflow-dev-Scheduler", logStreamName=scheduler,
                                nextToken=got["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == got["nextForwardToken"]

    run = logs.filter_log_events(logGroupName="airflow-dev-Scheduler", filterPattern="run-42 -failed")
    assert [e["message"] for e in run["events"]] == [f"[{iso(T0)}] {{job.py:1}} INFO - scheduling run-42"]
    json_match = logs.filter_log_events(logGroupName="airflow-dev-Task",
                                        filterPattern='{ $.correlation_id = "run-42" && $.event = "*batch 2" }')
    assert len(json_match["events"]) == 1 and json_match["events"][0]["logStreamName"].startswith("dag_id=etl")
    paged = logs.filter_log_events(logGroupName="airflow-dev-Task", limit=2)
    rest = logs.filter_log_events(logGroupName="airflow-dev-Task", limit=2, nextToken=paged["nextToken"])
    assert len(paged["events"]) == 2 and len(rest["events"]) == 1 and "nextToken" not in rest
    assert error_code(logs.filter_log_events, logGroupName="airflow-dev-Task",
                      filterPattern="{ $.x = ") == "InvalidParameterException"

    # Logs Insights, as the observability post follows one run's correlation id across components
    def results(query_string):
        query_id = logs.start_query(logGroupNames=["airflow-dev-Scheduler", "airflow-dev-Task"],
                                    startTime=T0 // 1000 - 60, endTime=T0 // 1000 + 60,
                                    queryString=query_string)["queryId"]
        reply = wait_for(lambda: (r := logs.get_query_results(queryId=query_id))["status"] == "Complete" and r,
                         timeout=10, what="the query")
        return [{c["field"]: c["value"] for c in row if c["field"] != "@ptr"} for row in reply["results"]]

    run = results("fields @timestamp, @logStream, @message | filter @message like /run-42/ | sort @timestamp asc")
    task = "dag_id=etl/run_id=manual__2026-12-02T10_00_00+00_00/task_id=load/attempt=1.log"
    assert [r["@logStream"] for r in run] == [scheduler, task, scheduler, task, task]  # by time
    assert results("filter correlation_id = 'run-42' | stats count(*) as n by bin(1m)")[0]["n"] == "3"
    assert error_code(logs.start_query, logGroupName="airflow-dev-Task", startTime=0, endTime=1,
                      queryString="stats median(x)") == "MalformedQueryException"


def test_client_groups_streams_events_retention_and_errors(logs, control_plane, tmp_path):
    logs.create_log_group(logGroupName="/team/jobs")
    assert error_code(logs.create_log_group, logGroupName="/team/jobs") == "ResourceAlreadyExistsException"
    logs.create_log_stream(logGroupName="/team/jobs", logStreamName="nightly")
    now = int(time.time() * 1000)
    reply = logs.put_log_events(logGroupName="/team/jobs", logStreamName="nightly", logEvents=[
        {"timestamp": now - 20 * 86_400_000, "message": "too old"},
        {"timestamp": now - 1000, "message": "loaded 10 rows"}, {"timestamp": now, "message": "done"}])
    assert reply["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}
    tail = logs.get_log_events(logGroupName="/team/jobs", logStreamName="nightly", limit=1)
    assert [e["message"] for e in tail["events"]] == ["done"]
    back = logs.get_log_events(logGroupName="/team/jobs", logStreamName="nightly",
                               nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in back["events"]] == ["loaded 10 rows"]
    logs.put_retention_policy(logGroupName="/team/jobs", retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePattern="TEAM")["logGroups"][0]["retentionInDays"] == 7
    assert error_code(logs.put_retention_policy, logGroupName="/team/jobs",
                      retentionInDays=8) == "InvalidParameterException"
    assert error_code(logs.get_log_events, logGroupName="/nope", logStreamName="x") == "ResourceNotFoundException"
    assert error_code(logs.put_log_events, logGroupName="/team/jobs", logStreamName="nope",
                      logEvents=[{"timestamp": now, "message": "x"}]) == "ResourceNotFoundException"
    big = [{"timestamp": now, "message": "x" * 1000} for _ in range(1100)]
    assert error_code(logs.put_log_events, logGroupName="/team/jobs", logStreamName="nightly",
                      logEvents=big) in ("InvalidParameterException", "RequestEntityTooLarge")
    cli = aws_cli(control_plane, tmp_path, "logs", "filter-log-events", "--log-group-name", "/team/jobs",
                  "--filter-pattern", "rows")
    assert cli.returncode == 0, cli.stderr
    assert [e["message"] for e in json.loads(cli.stdout)["events"]] == ["loaded 10 rows"]
    logs.delete_log_group(logGroupName="/team/jobs")
    assert logs.describe_log_groups(logGroupNamePrefix="/team")["logGroups"] == []


def test_line_times_in_the_formats_airflow_writes():
    assert timestamp_of(b"[2026-12-02T10:00:00.250+0000] {x.py:1} INFO - hi") == 1_796_205_600_250
    assert timestamp_of(b"2026-12-02T10:00:00.250000Z [info     ] hi") == 1_796_205_600_250
    assert timestamp_of(b'{"timestamp": "2026-12-02T10:00:00.250Z", "event": "hi"}') == 1_796_205_600_250
    assert timestamp_of(b"[2026-12-02 10:00:00,250] INFO hi") == 1_796_205_600_250
    assert timestamp_of(b"Traceback (most recent call last):") is None


def test_groups_and_streams_come_in_pages(logs):
    for group in ("/pages/a", "/pages/b", "/pages/c"):
        logs.create_log_group(logGroupName=group)
    for stream in ("s1", "s2", "s3"):
        logs.create_log_stream(logGroupName="/pages/a", logStreamName=stream)
    first = logs.describe_log_groups(logGroupNamePrefix="/pages/", limit=2)
    rest = logs.describe_log_groups(logGroupNamePrefix="/pages/", limit=2, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in first["logGroups"] + rest["logGroups"]] == ["/pages/a", "/pages/b", "/pages/c"]
    assert "nextToken" not in rest
    pages = logs.get_paginator("describe_log_streams").paginate(logGroupName="/pages/a",
                                                                 PaginationConfig={"PageSize": 2})
    assert [[s["logStreamName"] for s in p["logStreams"]] for p in pages] == [["s1", "s2"], ["s3"]]
    assert error_code(logs.describe_log_groups, nextToken="nope!") == "InvalidParameterException"
    assert error_code(logs.describe_log_streams, logGroupName="/pages/a", nextToken="nope!") == \
        "InvalidParameterException"
