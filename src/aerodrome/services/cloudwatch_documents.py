"""CloudWatch dashboards and metric alarms.

Dashboards: PutDashboard (the body kept byte for byte; it must be a JSON object with a `widgets`
list), GetDashboard, ListDashboards, DeleteDashboards.

Alarms: PutMetricAlarm (one metric, or `Metrics` with metric math, as CloudWatch takes them),
DescribeAlarms, DeleteAlarms, SetAlarmState, DescribeAlarmHistory. `evaluate_alarms` looks at every
alarm's latest evaluation periods (domain.alarms decides) and records each state change, in the
alarm's history and as a `CloudWatch Alarm State Change` event through `notify`. Alarm actions (SNS,
Auto Scaling ARNs) are stored and listed, not run: the events are how Aerodrome tells.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from aerodrome.domain import alarms
from aerodrome.services.cloudwatch import CloudWatchError, CloudWatchService, Item, page
from aerodrome.telemetry.documents import Documents

_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
PAGE = 100
# notify(alarm name, environment named by its Environment dimension or "", the event's detail)
Notify = Callable[[str, str, dict], None]


def _stamp(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def _iso(epoch: float) -> str:
    return _stamp(epoch).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _page(items: Sequence[Item], payload: dict[str, Any], limit: int) -> tuple[Sequence[Item], dict[str, str]]:
    return page(items, payload, limit, code="InvalidNextToken")


def _not_found(what: str) -> CloudWatchError:
    return CloudWatchError("ResourceNotFound", what, status=404)


class CloudWatchDocuments:
    def __init__(self, documents: Documents, metrics: CloudWatchService, *, region: str, account: str,
                 notify: Notify | None = None):
        self._documents = documents
        self._metrics = metrics
        self._region = region
        self._account = account
        self._notify = notify or (lambda name, environment, detail: None)

    # --- dashboards --------------------------------------------------------------------------
    def put_dashboard(self, payload: dict[str, Any]) -> dict:
        name, body = payload.get("DashboardName") or "", payload.get("DashboardBody")
        if not _NAME.match(name):
            raise CloudWatchError("InvalidParameterValue", "The value for DashboardName must be 1-255 characters "
                                  "of A-Z, a-z, 0-9, '-' and '_'.")
        if body is None:
            raise CloudWatchError("MissingParameter", "The parameter DashboardBody is required.")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise CloudWatchError("InvalidParameterInput", f"The dashboard body is not valid JSON: {exc}.") from None
        if not isinstance(document, dict) or not isinstance(document.get("widgets", []), list):
            raise CloudWatchError("InvalidParameterInput", "The dashboard body must be a JSON object whose "
                                  "\"widgets\" is a list.")
        self._documents.put_dashboard(name, body)
        return {"DashboardValidationMessages": []}

    def get_dashboard(self, payload: dict[str, Any]) -> dict:
        name = payload.get("DashboardName") or ""
        found = self._documents.dashboard(name)
        if found is None:
            raise _not_found(f"Dashboard {name} does not exist")
        return {"DashboardArn": self._dashboard_arn(name), "DashboardBody": found[0], "DashboardName": name}

    def list_dashboards(self, payload: dict[str, Any]) -> dict:
        found = self._documents.dashboards(payload.get("DashboardNamePrefix") or "")
        shown, more = _page(found, payload, PAGE)
        return {"DashboardEntries": [
            {"DashboardName": n, "DashboardArn": self._dashboard_arn(n), "LastModified": _stamp(m), "Size": size}
            for n, size, m in shown], **more}

    def delete_dashboards(self, payload: dict[str, Any]) -> dict:
        names = payload.get("DashboardNames") or []
        if not names:
            raise CloudWatchError("MissingParameter", "The parameter DashboardNames is required.")
        unknown = self._documents.delete_dashboards(names)
        if unknown:
            raise _not_found(f"The specified dashboard does not exist: {', '.join(unknown)}. Nothing was deleted.")
        return {}

    def _dashboard_arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch::{self._account}:dashboard/{name}"

    # --- alarms ------------------------------------------------------------------------------
    def put_metric_alarm(self, payload: dict[str, Any]) -> dict:
        name = payload.get("AlarmName") or ""
        if not name or len(name) > 255:
            raise CloudWatchError("MissingParameter" if not name else "InvalidParameterValue",
                                  "The parameter AlarmName is required and holds at most 255 characters.")
        for required in ("EvaluationPeriods", "ComparisonOperator"):
            if payload.get(required) is None:
                raise CloudWatchError("MissingParameter", f"The parameter {required} is required.")
        if payload["ComparisonOperator"] not in alarms.COMPARISONS:
            raise CloudWatchError("InvalidParameterValue", f"The ComparisonOperator {payload['ComparisonOperator']} "
                                  f"is not one Aerodrome evaluates: {', '.join(alarms.COMPARISONS)}.")
        if payload.get("Threshold") is None:
            raise CloudWatchError("MissingParameter", "The parameter Threshold is required.")
        if payload.get("TreatMissingData", "missing") not in alarms.TREATMENTS:
            raise CloudWatchError("InvalidParameterValue", "TreatMissingData must be one of "
                                  f"{', '.join(alarms.TREATMENTS)}.")
        periods = payload["EvaluationPeriods"]
        to_alarm = payload.get("DatapointsToAlarm", periods)
        if periods < 1 or not 1 <= to_alarm <= periods:
            raise CloudWatchError("InvalidParameterValue", "DatapointsToAlarm must be between 1 and "
                                  "EvaluationPeriods, and EvaluationPeriods at least 1.")
        if bool(payload.get("Metrics")) == bool(payload.get("MetricName")):
            raise CloudWatchError("InvalidParameterCombination", "Give either MetricName (with Namespace, "
                                  "Statistic and Period) or Metrics, not both.")
        if payload.get("MetricName"):
            for required in ("Namespace", "Period"):
                if not payload.get(required):
                    raise CloudWatchError("MissingParameter", f"The parameter {required} is required.")
            if payload.get("Statistic") not in ("SampleCount", "Average", "Sum", "Minimum", "Maximum"):
                raise CloudWatchError("InvalidParameterValue", "Statistic must be one of SampleCount, Average, "
                                      "Sum, Minimum, Maximum (percentiles are not kept).")
        else:
            returned = [m for m in payload["Metrics"] if m.get("ReturnData", True)]
            if len(returned) != 1:
                raise CloudWatchError("ValidationError", "Exactly one of Metrics must have ReturnData true: "
                                      "the series the alarm watches.")
        self._window(payload)  # periods and queries are checked now, not at the first evaluation
        definition = {k: v for k, v in payload.items() if k not in ("AlarmName", "Tags")}
        self._documents.put_alarm(name, definition)
        return {}

    def describe_alarms(self, payload: dict[str, Any]) -> dict:
        names = payload.get("AlarmNames")
        found = self._documents.alarms(names or None)
        prefix, state = payload.get("AlarmNamePrefix"), payload.get("StateValue")
        found = [a for a in found if (not prefix or a["name"].startswith(prefix)) and
                 (not state or a["state"] == state)]
        kinds = payload.get("AlarmTypes") or ["MetricAlarm"]
        if "MetricAlarm" not in kinds:
            found = []
        shown, more = _page(found, payload, payload.get("MaxRecords") or 50)
        return {"MetricAlarms": [self._alarm(a) for a in shown], "CompositeAlarms": [], **more}

    def delete_alarms(self, payload: dict[str, Any]) -> dict:
        unknown = self._documents.delete_alarms(payload.get("AlarmNames") or [])
        if unknown:
            raise _not_found(f"The alarms {', '.join(unknown)} do not exist. Nothing was deleted.")
        return {}

    def set_alarm_state(self, payload: dict[str, Any]) -> dict:
        name, state = payload.get("AlarmName") or "", payload.get("StateValue")
        if state not in alarms.STATES:
            raise CloudWatchError("InvalidParameterValue", f"StateValue must be one of {', '.join(alarms.STATES)}.")
        data = payload.get("StateReasonData")
        if data is not None:
            try:
                json.loads(data)
            except ValueError:
                raise CloudWatchError("InvalidFormat", "StateReasonData is not valid JSON.") from None
        found = self._documents.alarms([name])
        if not found:
            raise _not_found(f"Alarm {name} does not exist")
        self._record(found[0], state, payload.get("StateReason") or "", data)
        return {}

    def describe_alarm_history(self, payload: dict[str, Any]) -> dict:
        start, end = payload.get("StartDate"), payload.get("EndDate")
        items = self._documents.history(payload.get("AlarmName"), kind=payload.get("HistoryItemType"),
                                        start=start.timestamp() if start else None,
                                        end=end.timestamp() if end else None,
                                        newest_first=payload.get("ScanBy", "TimestampDescending") ==
                                        "TimestampDescending")
        shown, more = _page(items, payload, payload.get("MaxRecords") or 100)
        return {"AlarmHistoryItems": [
            {"AlarmName": i["name"], "AlarmType": "MetricAlarm", "Timestamp": _stamp(i["at"]),
             "HistoryItemType": i["kind"], "HistorySummary": i["summary"], "HistoryData": i["data"]}
            for i in shown], **more}

    def evaluate_alarms(self, now: float | None = None) -> int:
        """Evaluate every alarm once; how many changed state."""
        changed = 0
        for alarm in self._documents.alarms():
            definition = alarm["definition"]
            rule = alarms.Rule(threshold=definition["Threshold"], comparison=definition["ComparisonOperator"],
                               evaluation_periods=definition["EvaluationPeriods"],
                               datapoints_to_alarm=definition.get("DatapointsToAlarm",
                                                                  definition["EvaluationPeriods"]),
                               treat_missing=definition.get("TreatMissingData", "missing"))
            values = self._values(definition, time.time() if now is None else now)
            verdict = alarms.evaluate(rule, values, alarm["state"])
            if verdict.state != alarm["state"]:
                self._record(alarm, verdict.state, verdict.reason, json.dumps({"version": "1.0", "recentDatapoints": [
                    v for v in values if v is not None], "threshold": rule.threshold}))
                changed += 1
        return changed

    # --- internals ---------------------------------------------------------------------------
    def _window(self, definition: dict) -> tuple[int, list[dict]]:
        """The alarm's period and the GetMetricData queries that give its watched series (id `watched`)."""
        if definition.get("MetricName"):
            period = definition["Period"]
            queries: list[dict[str, Any]] = [{"Id": "watched", "MetricStat": {
                "Metric": {"Namespace": definition["Namespace"], "MetricName": definition["MetricName"],
                           "Dimensions": definition.get("Dimensions") or []},
                "Period": period, "Stat": definition["Statistic"], **(
                    {"Unit": definition["Unit"]} if definition.get("Unit") else {})}}]
            return period, queries
        queries = [dict(m) for m in definition["Metrics"]]
        periods = [m["MetricStat"]["Period"] for m in queries if "MetricStat" in m] + \
            [m["Period"] for m in queries if m.get("Period")]
        if not periods:
            raise CloudWatchError("ValidationError", "The alarm's Metrics need a MetricStat with a Period.")
        return min(periods), queries

    def _values(self, definition: dict, now: float) -> list[float | None]:
        """One value per evaluation period, oldest first: the newest periods up to the one now filling
        when it has a datapoint already, else up to the last complete one (so a minute that just ended
        is not skipped before its datapoints are judged)."""
        period, queries = self._window(definition)
        periods = definition["EvaluationPeriods"]
        end = (int(now) // period + 1) * period
        start = end - (periods + 1) * period
        reply = self._metrics.get_metric_data({
            "MetricDataQueries": queries, "StartTime": _stamp(start), "EndTime": _stamp(end),
            "ScanBy": "TimestampAscending"})
        result = reply["MetricDataResults"][0]
        by_time = {int(t.timestamp()): v for t, v in zip(result["Timestamps"], result["Values"], strict=True)}
        values = [by_time.get(start + i * period) for i in range(periods + 1)]
        return values[1:] if values[-1] is not None else values[:-1]

    def _record(self, alarm: dict, state: str, reason: str, data: str | None) -> None:
        name = alarm["name"]
        previous = self._documents.set_state(name, state, reason, data)
        if previous is None or previous == state:
            return
        definition = alarm["definition"]
        environment = next((d["Value"] for d in definition.get("Dimensions") or []
                            if d["Name"] == "Environment"), "")
        now = time.time()
        self._notify(name, environment, {
            "alarmName": name, "alarmArn": self._alarm_arn(name),
            "state": {"value": state, "reason": reason, "timestamp": _iso(now),
                      **({"reasonData": data} if data else {})},
            "previousState": {"value": previous, "reason": alarm["reason"], "timestamp": _iso(alarm["state_updated"])},
            "configuration": {"description": definition.get("AlarmDescription", ""),
                              "metrics": definition.get("Metrics") or [{"metricStat": {
                                  "metric": {"namespace": definition.get("Namespace"),
                                             "name": definition.get("MetricName"),
                                             "dimensions": {d["Name"]: d["Value"]
                                                            for d in definition.get("Dimensions") or []}},
                                  "period": definition.get("Period"), "stat": definition.get("Statistic")}}]}})

    def _alarm(self, alarm: dict) -> dict:
        definition = alarm["definition"]
        return {"AlarmName": alarm["name"], "AlarmArn": self._alarm_arn(alarm["name"]),
                "AlarmConfigurationUpdatedTimestamp": _stamp(alarm["configured"]),
                "ActionsEnabled": definition.get("ActionsEnabled", True),
                "OKActions": definition.get("OKActions", []), "AlarmActions": definition.get("AlarmActions", []),
                "InsufficientDataActions": definition.get("InsufficientDataActions", []),
                "StateValue": alarm["state"], "StateReason": alarm["reason"],
                **({"StateReasonData": alarm["reason_data"]} if alarm["reason_data"] else {}),
                "StateUpdatedTimestamp": _stamp(alarm["state_updated"]),
                "StateTransitionedTimestamp": _stamp(alarm["state_transitioned"]),
                "DatapointsToAlarm": definition.get("DatapointsToAlarm", definition["EvaluationPeriods"]),
                "TreatMissingData": definition.get("TreatMissingData", "missing"),
                **{k: v for k, v in definition.items() if k in (
                    "AlarmDescription", "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "Unit",
                    "EvaluationPeriods", "Threshold", "ComparisonOperator", "Metrics")}}

    def _alarm_arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self._region}:{self._account}:alarm:{name}"

