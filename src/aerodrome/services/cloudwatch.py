"""CloudWatch's metric operations over the metric store: PutMetricData, GetMetricStatistics,
GetMetricData (MetricStat queries and metric math), ListMetrics; dashboards (Put/Get/List/Delete);
metric alarms (PutMetricAlarm, DescribeAlarms, DeleteAlarms, SetAlarmState, DescribeAlarmHistory),
evaluated by `evaluate_alarms`, which the alarm loop calls.

Payloads and replies are the botocore `cloudwatch` model's shapes as plain values (timestamps as
aware datetimes); the wire layer (api/cloudwatch) turns them to and from each protocol. Rules and
limits are CloudWatch's, and so are the error codes (`CloudWatchError.code`).
"""

from __future__ import annotations

import base64
import datetime
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from aerodrome import errors
from aerodrome.domain import metric_math
from aerodrome.telemetry.metric_store import Bucket, Datapoint, Dimensions, MetricStore, Series, dimensions_of

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MAX_DATAPOINTS = 1440  # GetMetricStatistics
MAX_QUERIES = 500  # GetMetricData
LIST_PAGE = 500

Item = TypeVar("Item")
PAST, FUTURE = 14 * 86400, 2 * 3600  # how far a datapoint's timestamp may be from now


class CloudWatchError(errors.Invalid):
    """Bad input, with the CloudWatch error code (and HTTP status) to answer."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


def _invalid(message: str) -> CloudWatchError:
    return CloudWatchError("InvalidParameterValue", message)


def _missing(name: str) -> CloudWatchError:
    return CloudWatchError("MissingParameter", f"The parameter {name} is required.")


class CloudWatchService:
    def __init__(self, store: MetricStore):
        self._store = store

    # --- PutMetricData ---------------------------------------------------------------------------
    def put_metric_data(self, payload: dict[str, Any], *, internal: bool = False) -> dict:
        """Store the datapoints; `internal` lets Aerodrome's collectors write `AWS/` namespaces."""
        namespace = payload.get("Namespace") or ""
        if not namespace:
            raise _missing("Namespace")
        if namespace.startswith("AWS/") and not internal:
            raise _invalid(f"The value {namespace} for parameter Namespace is invalid: the AWS/ namespaces are "
                           "reserved for AWS services.")
        data = payload.get("MetricData") or []
        if not data:
            raise _missing("MetricData")
        now = time.time()
        points = [self._datapoint(namespace, item, index, now) for index, item in enumerate(data, start=1)]
        self._store.put(point for point in points if point is not None)
        return {}

    @staticmethod
    def _datapoint(namespace: str, item: dict, index: int, now: float) -> Datapoint | None:
        where = f"MetricData.member.{index}"
        name = item.get("MetricName")
        if not name:
            raise _missing(f"{where}.MetricName")
        stamp = item["Timestamp"].timestamp() if item.get("Timestamp") else now
        if stamp < now - PAST or stamp > now + FUTURE:
            raise _invalid(f"The parameter {where}.Timestamp must be within the last two weeks and no more than "
                           "two hours ahead.")
        resolution = item.get("StorageResolution", 60)
        if resolution not in (1, 60):
            raise _invalid(f"The parameter {where}.StorageResolution must be 1 or 60.")
        dims = dimensions_of((d["Name"], d["Value"]) for d in item.get("Dimensions") or [])
        if len(dict(dims)) != len(dims):
            raise _invalid(f"The parameter {where}.Dimensions has the same name twice.")
        given = [key for key in ("Value", "Values", "StatisticValues") if item.get(key) is not None]
        if len(given) > 1:
            raise CloudWatchError("InvalidParameterCombination",
                                  f"The parameters {where}.{given[0]} and {where}.{given[1]} are mutually exclusive.")
        unit = item.get("Unit") or "None"
        common = {"namespace": namespace, "name": name, "dimensions": dims, "timestamp": stamp, "unit": unit,
                  "resolution": resolution}
        if "StatisticValues" in given:
            stats = item["StatisticValues"]
            _finite(where, stats.values())
            if stats["SampleCount"] <= 0 or stats["Minimum"] > stats["Maximum"]:
                raise _invalid(f"The parameter {where}.StatisticValues is not a consistent statistic set.")
            return Datapoint(sum=stats["Sum"], count=stats["SampleCount"], min=stats["Minimum"],
                             max=stats["Maximum"], **common)
        if "Values" in given:
            values, counts = item["Values"], item.get("Counts") or [1.0] * len(item["Values"])
            if len(counts) != len(values):
                raise _invalid(f"The parameters {where}.Values and {where}.Counts must have the same length.")
            _finite(where, values)
            if not values:
                return None
            return Datapoint(sum=sum(v * c for v, c in zip(values, counts, strict=True)), count=sum(counts),
                             min=min(values), max=max(values), **common)
        value = item.get("Value", 0.0)
        _finite(where, [value])
        return Datapoint(sum=value, count=1, min=value, max=value, **common)

    # --- GetMetricStatistics ---------------------------------------------------------------------
    def get_metric_statistics(self, payload: dict[str, Any]) -> dict:
        for name in ("Namespace", "MetricName", "StartTime", "EndTime", "Period"):
            if payload.get(name) in (None, ""):
                raise _missing(name)
        statistics = payload.get("Statistics") or []
        if payload.get("ExtendedStatistics"):
            raise _invalid("Percentile statistics (ExtendedStatistics) are not kept by Aerodrome: its datapoints are "
                           "statistic sets. Ask for SampleCount, Average, Sum, Minimum or Maximum.")
        if not statistics:
            raise _missing("Statistics")
        start, end, period = _window(payload["StartTime"], payload["EndTime"], payload["Period"])
        wanted = math.ceil((end - start) / period)
        if wanted > MAX_DATAPOINTS:
            raise CloudWatchError(
                "InvalidParameterCombination",
                f"You have requested up to {wanted:,} datapoints, which exceeds the limit of {MAX_DATAPOINTS:,}. "
                "You may reduce the datapoints requested by increasing Period, or decreasing the time range.")
        name = payload["MetricName"]
        series = self._store.find(payload["Namespace"], name, _dims(payload.get("Dimensions")))
        if series is None or (payload.get("Unit") and payload["Unit"] != series.unit):
            return {"Label": name, "Datapoints": []}
        points = []
        for bucket in self._store.buckets(series, start, end, period):
            point: dict[str, Any] = {"Timestamp": _time(bucket.start), "Unit": series.unit}
            point.update({stat: bucket.statistic(stat) for stat in statistics})
            points.append(point)
        return {"Label": name, "Datapoints": points}

    # --- GetMetricData ---------------------------------------------------------------------------
    def get_metric_data(self, payload: dict[str, Any]) -> dict:
        queries = payload.get("MetricDataQueries") or []
        if not queries:
            raise _missing("MetricDataQueries")
        if len(queries) > MAX_QUERIES:
            raise _invalid(f"The collection MetricDataQueries must not have more than {MAX_QUERIES} items.")
        for name in ("StartTime", "EndTime"):
            if payload.get(name) is None:
                raise _missing(name)
        ids = [q.get("Id", "") for q in queries]
        for query_id in ids:
            if not query_id or not query_id[0].islower() or not query_id.replace("_", "").isalnum():
                raise CloudWatchError("ValidationError", f"The value {query_id!r} for Id is invalid: an Id starts "
                                      "with a lowercase letter and holds letters, digits and underscores.")
        if len(set(ids)) != len(ids):
            raise CloudWatchError("ValidationError", "The Ids of MetricDataQueries must be unique.")
        series: dict[str, metric_math.Series] = {}
        labels: dict[str, str] = {}
        for query in queries:
            if ("MetricStat" in query) == ("Expression" in query):
                raise CloudWatchError("ValidationError", f"The query {query['Id']} must have exactly one of "
                                      "MetricStat and Expression.")
            if "MetricStat" in query:
                series[query["Id"]], labels[query["Id"]] = self._metric_stat(query, payload)
        metric_ids = set(series)
        for query in queries:
            if "Expression" in query:
                try:
                    series[query["Id"]] = metric_math.evaluate(query["Expression"], {
                        k: v for k, v in series.items() if k != query["Id"]}, metric_ids)
                except metric_math.ExpressionError as exc:
                    raise CloudWatchError("ValidationError", f"Error in expression '{query['Id']}': {exc}") from None
                labels[query["Id"]] = query["Id"]
        descending = payload.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        results = []
        for query in queries:
            if not query.get("ReturnData", True):
                continue
            stamps = sorted(series[query["Id"]], reverse=descending)
            results.append({"Id": query["Id"], "Label": query.get("Label") or labels[query["Id"]],
                            "Timestamps": [_time(s) for s in stamps],
                            "Values": [series[query["Id"]][s] for s in stamps], "StatusCode": "Complete"})
        return {"MetricDataResults": results, "Messages": []}

    def _metric_stat(self, query: dict, payload: dict) -> tuple[metric_math.Series, str]:
        stat = query["MetricStat"]
        metric = stat.get("Metric") or {}
        if stat.get("Stat") not in STATISTICS:
            raise _invalid(f"The statistic {stat.get('Stat')!r} of query {query['Id']} is not one Aerodrome keeps: "
                           f"use one of {', '.join(STATISTICS)}.")
        start, end, period = _window(payload["StartTime"], payload["EndTime"], stat.get("Period"))
        found = self._store.find(metric.get("Namespace", ""), metric.get("MetricName", ""),
                                 _dims(metric.get("Dimensions")))
        label = metric.get("MetricName", query["Id"])
        if found is None or (stat.get("Unit") and stat["Unit"] != found.unit):
            return {}, label
        buckets: list[Bucket] = self._store.buckets(found, start, end, period)
        return {b.start: b.statistic(stat["Stat"]) for b in buckets}, label

    # --- ListMetrics -----------------------------------------------------------------------------
    def list_metrics(self, payload: dict[str, Any]) -> dict:
        wanted = [(d["Name"], d.get("Value")) for d in payload.get("Dimensions") or []]
        active = time.time() - 3 * 3600 if payload.get("RecentlyActive") == "PT3H" else None
        found = self._store.list(namespace=payload.get("Namespace"), name=payload.get("MetricName"),
                                 dimensions=wanted, active_since=active)
        shown, more = page(found, payload, LIST_PAGE)
        return {"Metrics": [_metric(s) for s in shown], **more}


def _metric(series: Series) -> dict:
    return {"Namespace": series.namespace, "MetricName": series.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in series.dimensions]}


def _dims(given: list | None) -> Dimensions:
    return dimensions_of((d["Name"], d["Value"]) for d in given or [])


def _finite(where: str, values: Any) -> None:
    for value in values:
        if not math.isfinite(value) or abs(value) > 2 ** 360:
            raise _invalid(f"The parameter {where} holds {value}, which CloudWatch does not accept: values are "
                           "finite and between -2^360 and 2^360.")


def _window(start: datetime.datetime, end: datetime.datetime, period: int | None) -> tuple[float, float, int]:
    if not period or period < 1 or (period >= 60 and period % 60) or (period < 60 and period not in (1, 5, 10, 30)):
        raise _invalid(f"The parameter Period must be 1, 5, 10, 30 or a multiple of 60; {period} is not.")
    first, last = start.timestamp(), end.timestamp()
    if last <= first:
        raise _invalid("The parameter StartTime must be before EndTime.")
    return first, last, int(period)


def _time(stamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC)


def next_token(offset: int) -> str:
    """A NextToken: where the next page starts."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def offset_of(token: str | None, *, code: str = "InvalidParameterValue") -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        offset = -1
    if offset < 0:
        raise CloudWatchError(code, "The NextToken is not one this service gave out.")
    return offset


def page(items: Sequence[Item], payload: Mapping[str, Any], limit: int, *, key: str = "NextToken",
         code: str = "InvalidParameterValue") -> tuple[Sequence[Item], dict[str, str]]:
    """The page of `items` that the payload's token under `key` starts (the first without one), at
    most `limit` long, and what the reply adds: the next page's token under `key`, if there is one.
    A token this service did not give out is a CloudWatchError with `code`."""
    offset = offset_of(payload.get(key), code=code)
    end = offset + limit
    return items[offset:end], {key: next_token(end)} if end < len(items) else {}
