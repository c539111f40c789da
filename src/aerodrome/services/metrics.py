"""PublishMetrics (MWAA's operation for its metrics publisher): the datapoints land in CloudWatch's
store under `AmazonMWAA`, with the environment as the `Environment` dimension, as MWAA publishes
them to CloudWatch."""

from __future__ import annotations

import datetime
from typing import Any

from aerodrome.services.cloudwatch import CloudWatchService
from aerodrome.services.environments import EnvironmentService

NAMESPACE = "AmazonMWAA"


class MetricsService:
    def __init__(self, *, environments: EnvironmentService, cloudwatch: CloudWatchService):
        self._environments = environments
        self._cloudwatch = cloudwatch

    def publish_metrics(self, name: str, metric_data: list) -> None:
        self._environments.placement(name)  # NotFound for an environment that does not exist
        self._cloudwatch.put_metric_data({"Namespace": NAMESPACE,
                                          "MetricData": [_item(name, item) for item in metric_data]})


def _item(environment: str, item: dict[str, Any]) -> dict[str, Any]:
    dimensions = [{"Name": "Environment", "Value": environment},
                  *(d for d in item.get("Dimensions") or [] if d.get("Name") != "Environment")]
    out = {"MetricName": item.get("MetricName"), "Dimensions": dimensions, "Unit": item.get("Unit")}
    stamp = item.get("Timestamp")
    if stamp is not None:  # the MWAA wire gives epoch seconds
        out["Timestamp"] = stamp if isinstance(stamp, datetime.datetime) else \
            datetime.datetime.fromtimestamp(float(stamp), tz=datetime.UTC)
    if item.get("StatisticValues"):
        out["StatisticValues"] = item["StatisticValues"]
    else:
        out["Value"] = item.get("Value", 0.0)
    return {k: v for k, v in out.items() if v is not None}
