"""Every environment's metrics in Prometheus' text format, for GET /metrics on the control plane.

Each series with a datapoint in the last 5 minutes becomes a gauge sample of its newest bucket:
`AWS/MWAA` metrics as `aws_mwaa_<MetricName>`, `AmazonMWAA` (Airflow's own) as
`amazonmwaa_<MetricName>`, custom namespaces as `<namespace>_<MetricName>`, with the dimensions as
labels (spaces become `_`). A gauge's value is the bucket's average, except for Airflow's counters
(unit Count in `AmazonMWAA`), whose value is the bucket's sum.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from aerodrome.telemetry.metric_store import MetricStore

FRESH = 300.0
_BAD = re.compile(r"[^a-zA-Z0-9_]")


def prometheus_name(namespace: str, name: str) -> str:
    """`AWS/MWAA`, `CPUUtilization` -> `aws_mwaa_CPUUtilization`."""
    text = _BAD.sub("_", namespace.replace("/", "_").lower() + "_" + name)
    return text if not text[0].isdigit() else "m_" + text


class _StoreCollector(Collector):
    def __init__(self, store: MetricStore):
        self._store = store

    def collect(self) -> Iterator[Metric]:
        grouped: dict[str, list] = {}
        for series, bucket in self._store.latest(time.time() - FRESH):
            grouped.setdefault(prometheus_name(series.namespace, series.name), []).append((series, bucket))
        for name, members in grouped.items():
            # one family per name; a label a series lacks is empty there (Prometheus reads it as absent)
            labels = sorted({_BAD.sub("_", k) for series, _ in members for k, _ in series.dimensions})
            first = members[0][0]
            family = GaugeMetricFamily(name, f"{first.namespace} {first.name} ({first.unit})", labels=labels)
            for series, bucket in members:
                values = {_BAD.sub("_", k): v for k, v in series.dimensions}
                counter = series.namespace == "AmazonMWAA" and series.unit == "Count"
                family.add_metric([values.get(label, "") for label in labels],
                                  bucket.sum if counter else bucket.average, timestamp=bucket.start)
            yield family


def exposition(store: MetricStore) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StoreCollector(store))
    return generate_latest(registry)
