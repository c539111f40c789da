"""CloudWatch's metric API with real boto3 in each protocol SDKs send: botocore's own choice
(smithy-rpc-v2-cbor), and awsJson1_0 and query as older botocore and other SDKs send them (botocore
made to pick them by a copy of its model that lists only that protocol), plus the AWS CLI."""

import copy
import datetime
import json
import subprocess
import sys

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support import aws_cli

PROTOCOLS = ("smithy-rpc-v2-cbor", "json", "query")
NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)


def client_speaking(protocol, control_plane, tmp_path, **keys):
    session = botocore.session.get_session()
    model = copy.deepcopy(session.get_component("data_loader").load_service_model("cloudwatch", "service-2"))
    model["metadata"].update(protocol=protocol, protocols=[protocol])
    folder = tmp_path / "models" / protocol
    (folder / "cloudwatch" / model["metadata"]["apiVersion"]).mkdir(parents=True)
    (folder / "cloudwatch" / model["metadata"]["apiVersion"] / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(folder))
    client = boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=control_plane["url"], region_name="us-east-1",
        aws_access_key_id=keys.get("key", control_plane["key"]),
        aws_secret_access_key=keys.get("secret", control_plane["secret"]),
        config=Config(retries={"max_attempts": 1}))
    assert client.meta.service_model.protocol == protocol
    return client


@pytest.fixture(params=PROTOCOLS)
def cloudwatch(request, control_plane, tmp_path):
    return client_speaking(request.param, control_plane, tmp_path)


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_put_then_read_back_statistics_data_and_listing(cloudwatch):
    dims = [{"Name": "Environment", "Value": "dev"}, {"Name": "Team", "Value": "data"}]
    cloudwatch.put_metric_data(Namespace="Team/Jobs", MetricData=[
        {"MetricName": "RowsLoaded", "Dimensions": dims, "Timestamp": NOW - datetime.timedelta(minutes=2),
         "Value": 10, "Unit": "Count"},
        {"MetricName": "RowsLoaded", "Dimensions": list(reversed(dims)),
         "Timestamp": NOW - datetime.timedelta(minutes=2),
         "Values": [1, 5], "Counts": [2, 1], "Unit": "Count"},
        {"MetricName": "RowsLoaded", "Dimensions": dims, "Timestamp": NOW - datetime.timedelta(minutes=1),
         "StatisticValues": {"SampleCount": 4, "Sum": 40, "Minimum": 2, "Maximum": 20}, "Unit": "Count"},
        {"MetricName": "Errors", "Dimensions": dims[:1], "Timestamp": NOW - datetime.timedelta(minutes=1),
         "Value": 3}])

    stats = cloudwatch.get_metric_statistics(
        Namespace="Team/Jobs", MetricName="RowsLoaded", Dimensions=dims, StartTime=NOW - datetime.timedelta(minutes=5),
        EndTime=NOW, Period=60, Statistics=["Sum", "SampleCount", "Minimum", "Maximum", "Average"])
    points = sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])
    assert stats["Label"] == "RowsLoaded"
    assert [(p["Sum"], p["SampleCount"], p["Minimum"], p["Maximum"], p["Unit"]) for p in points] == [
        (17.0, 4.0, 1.0, 10.0, "Count"), (40.0, 4.0, 2.0, 20.0, "Count")]
    assert points[0]["Timestamp"] == NOW - datetime.timedelta(minutes=2)
    assert points[0]["Average"] == pytest.approx(4.25)

    data = cloudwatch.get_metric_data(StartTime=NOW - datetime.timedelta(minutes=5), EndTime=NOW, MetricDataQueries=[
        {"Id": "rows", "MetricStat": {"Metric": {"Namespace": "Team/Jobs", "MetricName": "RowsLoaded",
                                                 "Dimensions": dims}, "Period": 300, "Stat": "Sum"}},
        {"Id": "errs", "MetricStat": {"Metric": {"Namespace": "Team/Jobs", "MetricName": "Errors",
                                                 "Dimensions": dims[:1]}, "Period": 300, "Stat": "Sum"},
         "ReturnData": False},
        {"Id": "ratio", "Expression": "errs / rows * 100", "Label": "error %"},
        {"Id": "total", "Expression": "SUM(METRICS())"}])
    results = {r["Id"]: r for r in data["MetricDataResults"]}
    assert set(results) == {"rows", "ratio", "total"}
    assert results["rows"]["Values"] == [57.0] and results["rows"]["StatusCode"] == "Complete"
    assert results["rows"]["Timestamps"] == [NOW - datetime.timedelta(minutes=5)]
    assert results["ratio"]["Label"] == "error %" and results["ratio"]["Values"] == [pytest.approx(300 / 57)]
    assert results["total"]["Values"] == [60.0]

    listed = cloudwatch.list_metrics(Namespace="Team/Jobs", Dimensions=[{"Name": "Team"}])["Metrics"]
    assert listed == [{"Namespace": "Team/Jobs", "MetricName": "RowsLoaded", "Dimensions": dims}]
    assert len(cloudwatch.list_metrics(Dimensions=[{"Name": "Environment", "Value": "dev"}])["Metrics"]) == 2
    assert cloudwatch.list_metrics(Namespace="Nothing/Here")["Metrics"] == []


def test_unknown_metrics_are_empty_and_bad_input_gets_cloudwatch_errors(cloudwatch):
    empty = cloudwatch.get_metric_statistics(Namespace="No/Such", MetricName="x", StartTime=NOW - datetime.timedelta(
        hours=1), EndTime=NOW, Period=60, Statistics=["Sum"])
    assert empty["Datapoints"] == []
    code, message = error_code(cloudwatch.put_metric_data, Namespace="AWS/MWAA",
                               MetricData=[{"MetricName": "x", "Value": 1}])
    assert code == "InvalidParameterValue" and "reserved" in message
    code, message = error_code(cloudwatch.get_metric_statistics, Namespace="a", MetricName="x",
                               StartTime=NOW - datetime.timedelta(days=2), EndTime=NOW, Period=60, Statistics=["Sum"])
    assert code == "InvalidParameterCombination" and "2,880 datapoints" in message
    code, message = error_code(cloudwatch.get_metric_data, StartTime=NOW - datetime.timedelta(hours=1), EndTime=NOW,
                               MetricDataQueries=[{"Id": "e1", "Expression": "SUM(m9) +"}])
    assert code == "ValidationError" and "Error in expression 'e1'" in message
    code, message = error_code(cloudwatch.put_metric_data, Namespace="a", MetricData=[
        {"MetricName": "x", "Value": 1, "Timestamp": NOW - datetime.timedelta(days=15)}])
    assert code == "InvalidParameterValue" and "two weeks" in message
    code, message = error_code(cloudwatch.describe_insight_rules)
    assert code == "InvalidAction" and "PutMetricData" in message


def test_oversized_unsigned_and_denied_requests_are_refused(control_plane, tmp_path):
    cloudwatch = client_speaking("smithy-rpc-v2-cbor", control_plane, tmp_path)
    big = [{"MetricName": "m" * 250, "Dimensions": [{"Name": f"d{i}", "Value": "v" * 250} for i in range(30)],
            "Value": 1} for _ in range(200)]
    code, message = error_code(cloudwatch.put_metric_data, Namespace="a", MetricData=big)
    assert code == "RequestEntityTooLarge", message
    stranger = client_speaking("json", control_plane, tmp_path, key="AKIANOTAKEY", secret="x")
    code, _ = error_code(stranger.list_metrics)
    assert code == "InvalidClientTokenId"
    key, secret = control_plane["principals"].create("reader")
    control_plane["principals"].attach("reader", "read", json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": ["cloudwatch:Get*", "cloudwatch:List*"], "Resource": "*"}]}))
    reader = client_speaking("query", control_plane, tmp_path, key=key, secret=secret)
    assert reader.list_metrics()["Metrics"] == []
    code, message = error_code(reader.put_metric_data, Namespace="a", MetricData=[{"MetricName": "x", "Value": 1}])
    assert code == "AccessDenied" and "cloudwatch:PutMetricData" in message


def test_the_aws_cli_puts_and_reads_a_metric(control_plane, tmp_path):
    put = aws_cli(control_plane, tmp_path, "cloudwatch", "put-metric-data", "--namespace", "Cli/Test",
                  "--metric-name", "Hits", "--value", "7", "--dimensions", "Environment=dev")
    assert put.returncode == 0, put.stderr
    got = aws_cli(control_plane, tmp_path, "cloudwatch", "get-metric-statistics", "--namespace", "Cli/Test",
                  "--metric-name", "Hits", "--dimensions", "Name=Environment,Value=dev", "--statistics", "Sum",
                  "--period", "60", "--start-time", (NOW - datetime.timedelta(minutes=10)).isoformat(),
                  "--end-time", (NOW + datetime.timedelta(minutes=2)).isoformat())
    assert got.returncode == 0, got.stderr
    assert [p["Sum"] for p in json.loads(got.stdout)["Datapoints"]] == [7.0]
    assert subprocess.run([sys.executable, "-c", "import awscli"], check=False).returncode == 0


def test_a_dashboard_body_reads_back_byte_equal_and_deletes_all_or_nothing(cloudwatch):
    body = ('{"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": '
            '{"metrics": [["AWS/MWAA", "QueuedTasks", "Environment", "dev", "Queue", "default"]], '
            '"period": 60, "stat": "Maximum", "region": "us-east-1", "title": "Queued  \\u00e9"}}]}')
    assert cloudwatch.put_dashboard(DashboardName="mwaa-utilization", DashboardBody=body)[
        "DashboardValidationMessages"] == []
    got = cloudwatch.get_dashboard(DashboardName="mwaa-utilization")
    assert got["DashboardBody"] == body and got["DashboardArn"].endswith(":dashboard/mwaa-utilization")
    entries = cloudwatch.list_dashboards(DashboardNamePrefix="mwaa")["DashboardEntries"]
    assert [(e["DashboardName"], e["Size"]) for e in entries] == [("mwaa-utilization", len(body.encode()))]
    code, _ = error_code(cloudwatch.put_dashboard, DashboardName="bad", DashboardBody="{not json")
    assert code == "InvalidParameterInput"
    code, _ = error_code(cloudwatch.delete_dashboards, DashboardNames=["mwaa-utilization", "nope"])
    assert code == "ResourceNotFound"
    assert cloudwatch.get_dashboard(DashboardName="mwaa-utilization")["DashboardBody"] == body
    cloudwatch.delete_dashboards(DashboardNames=["mwaa-utilization"])
    code, _ = error_code(cloudwatch.get_dashboard, DashboardName="mwaa-utilization")
    assert code == "ResourceNotFound"


def test_an_alarm_goes_to_alarm_and_back_with_history_and_events(cloudwatch, control_plane):
    minute = NOW - datetime.timedelta(minutes=3)
    dims = [{"Name": "Environment", "Value": "dev"}, {"Name": "Queue", "Value": "default"}]
    cloudwatch.put_metric_alarm(AlarmName="queued-high", Namespace="Team/Queue", MetricName="QueuedTasks",
                                Dimensions=dims, Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=5,
                                ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=["arn:aws:sns:x"])
    alarm = cloudwatch.describe_alarms(AlarmNames=["queued-high"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA" and alarm["AlarmActions"] == ["arn:aws:sns:x"]
    cloudwatch.put_metric_data(Namespace="Team/Queue", MetricData=[
        {"MetricName": "QueuedTasks", "Dimensions": dims, "Timestamp": minute, "Value": 9},
        {"MetricName": "QueuedTasks", "Dimensions": dims, "Timestamp": minute + datetime.timedelta(minutes=1),
         "Value": 1}])
    alarms = control_plane["alarms"]
    assert alarms.evaluate_alarms(now=minute.timestamp() + 30) == 1
    alarm = cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"][0]
    assert alarm["AlarmName"] == "queued-high" and "[9]" in alarm["StateReason"]
    assert alarms.evaluate_alarms(now=minute.timestamp() + 30) == 0  # no change, no event
    assert alarms.evaluate_alarms(now=minute.timestamp() + 90) == 1
    assert cloudwatch.describe_alarms()["MetricAlarms"][0]["StateValue"] == "OK"
    changes = [(name, environment, detail["previousState"]["value"], detail["state"]["value"])
               for name, environment, detail in control_plane["notified"]]
    assert changes == [("queued-high", "dev", "INSUFFICIENT_DATA", "ALARM"), ("queued-high", "dev", "ALARM", "OK")]
    cloudwatch.set_alarm_state(AlarmName="queued-high", StateValue="ALARM", StateReason="testing the pager")
    history = cloudwatch.describe_alarm_history(AlarmName="queued-high", HistoryItemType="StateUpdate")
    assert [i["HistorySummary"] for i in history["AlarmHistoryItems"]] == [
        "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM"]
    code, _ = error_code(cloudwatch.set_alarm_state, AlarmName="nope", StateValue="OK", StateReason="x")
    assert code == "ResourceNotFound"
    code, _ = error_code(cloudwatch.put_metric_alarm, AlarmName="x", Namespace="a", MetricName="m", Statistic="p99",
                         Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    assert code == "InvalidParameterValue"
    # a breach in the minute that just ended is judged, though the new minute has no datapoint yet
    cloudwatch.put_metric_alarm(AlarmName="rolled", Namespace="Team/Queue", MetricName="Late", Statistic="Maximum",
                                Period=60, EvaluationPeriods=1, Threshold=5,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.put_metric_data(Namespace="Team/Queue", MetricData=[{"MetricName": "Late", "Value": 9,
                                                                     "Timestamp": minute}])
    alarms.evaluate_alarms(now=minute.timestamp() + 65)
    assert cloudwatch.describe_alarms(AlarmNames=["rolled"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    cloudwatch.delete_alarms(AlarmNames=["queued-high", "rolled"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []


def test_alarms_and_their_history_come_in_pages(cloudwatch, control_plane):
    for name in ("page-a", "page-b", "page-c"):
        cloudwatch.put_metric_alarm(AlarmName=name, Namespace="Team/Pages", MetricName="M", Statistic="Maximum",
                                    Period=60, EvaluationPeriods=1, Threshold=1,
                                    ComparisonOperator="GreaterThanThreshold")
    first = cloudwatch.describe_alarms(AlarmNamePrefix="page-", MaxRecords=2)
    rest = cloudwatch.describe_alarms(AlarmNamePrefix="page-", MaxRecords=2, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in first["MetricAlarms"] + rest["MetricAlarms"]] == ["page-a", "page-b", "page-c"]
    assert "NextToken" not in rest
    for state in ("ALARM", "OK"):
        cloudwatch.set_alarm_state(AlarmName="page-a", StateValue=state, StateReason="paging")
    pages = cloudwatch.get_paginator("describe_alarm_history").paginate(
        AlarmName="page-a", HistoryItemType="StateUpdate", PaginationConfig={"PageSize": 1})
    assert [len(p["AlarmHistoryItems"]) for p in pages] == [1, 1]
    assert error_code(cloudwatch.describe_alarms, NextToken="nope!")[0] == "InvalidNextToken"
    assert error_code(cloudwatch.list_dashboards, NextToken="nope!")[0] == "InvalidNextToken"
    assert error_code(cloudwatch.list_metrics, NextToken="nope!")[0] == "InvalidParameterValue"
    cloudwatch.delete_alarms(AlarmNames=["page-a", "page-b", "page-c"])
