"""PublishMetrics: what a client publishes is kept as JSON lines in the environment's
`metrics/published.jsonl`, for the metrics feature."""

from __future__ import annotations

import json
import time

from aerodrome.services.environments import EnvironmentService


class MetricsService:
    def __init__(self, *, environments: EnvironmentService):
        self._environments = environments

    def publish_metrics(self, name: str, metric_data: list) -> None:
        folder = self._environments.placement(name).root / "metrics"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "published.jsonl", "a") as handle:
            handle.write(json.dumps({"received_at": time.time(), "MetricData": metric_data}, default=str) + "\n")
