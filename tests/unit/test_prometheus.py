"""GET /metrics: the store's newest buckets in Prometheus' text format, read back with Prometheus'
own parser, behind the scrape token."""

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import Response

from aerodrome.api.front import build_front
from aerodrome.api.prometheus import build_prometheus_app, is_scrape
from aerodrome.telemetry.metric_store import Datapoint, MetricStore, dimensions_of
from aerodrome.telemetry.prometheus import exposition
from tests.support import serve_asgi


def test_the_newest_buckets_parse_as_gauges_with_dimensions_as_labels(tmp_path):
    store = MetricStore(tmp_path / "m.db")
    now = time.time()
    cpu = dimensions_of([("Environment", "dev"), ("Cluster", "Scheduler")])
    store.put([Datapoint("AWS/MWAA", "CPUUtilization", cpu, now - 120, 10, 1, 10, 10, "Percent"),
               Datapoint("AWS/MWAA", "CPUUtilization", cpu, now, 30, 2, 10, 20, "Percent"),
               Datapoint("AWS/MWAA", "CPUUtilization", dimensions_of([("Environment", "dev")]), now, 7, 1, 7, 7),
               Datapoint("AmazonMWAA", "TaskInstanceSuccesses", dimensions_of([("Environment", "dev")]), now, 12, 3,
                         1, 8, "Count"),
               Datapoint("AmazonMWAA", "DAGFileProcessingLastDuration",
                         dimensions_of([("Environment", "dev"), ("DAG Filename", "etl")]), now, 4, 2, 1, 3, "Seconds"),
               Datapoint("AWS/MWAA", "QueuedTasks", dimensions_of([("Environment", "old")]), now - 3600, 1, 1, 1, 1)])
    families = {f.name: f for f in text_string_to_metric_families(exposition(store).decode())}
    store.close()
    assert "aws_mwaa_QueuedTasks" not in families  # nothing in the last 5 minutes
    samples = {tuple(sorted(s.labels.items())): s.value for s in families["aws_mwaa_CPUUtilization"].samples}
    assert samples == {(("Cluster", "Scheduler"), ("Environment", "dev")): 15.0,
                       (("Cluster", ""), ("Environment", "dev")): 7.0}
    assert families["aws_mwaa_CPUUtilization"].type == "gauge"
    assert families["amazonmwaa_TaskInstanceSuccesses"].samples[0].value == 12.0  # a counter's sum
    assert families["amazonmwaa_DAGFileProcessingLastDuration"].samples[0].labels["DAG_Filename"] == "etl"


def test_the_scrape_needs_the_token_and_other_requests_pass_through():
    async def rest(scope, receive, send):
        await Response("the rest")(scope, receive, send)

    scrape = build_prometheus_app(render=lambda: b"# nothing\n", token="s3cret")
    with serve_asgi(build_front([(is_scrape, scrape)], rest)) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        assert httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        scraped = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer s3cret"})
        assert scraped.status_code == 200 and scraped.text == "# nothing\n"
        assert httpx.get(f"{url}/environments").text == "the rest"
