"""The metric store: statistic sets per bucket, exact dimension sets, listing filters, retention."""

from aerodrome.telemetry.metric_store import Datapoint, MetricStore, dimensions_of

DIMS = dimensions_of([("Environment", "dev"), ("Cluster", "Scheduler")])


def point(value, stamp, *, dims=DIMS, name="CPUUtilization", resolution=60):
    return Datapoint("AWS/MWAA", name, dims, stamp, value, 1, value, value, "Percent", resolution)


def test_points_merge_into_buckets_and_aggregate_per_period(tmp_path):
    store = MetricStore(tmp_path / "m.db")
    store.put([point(1, 60), point(3, 119), point(5, 120), point(7, 300)])
    series = store.find("AWS/MWAA", "CPUUtilization", DIMS)
    assert series is not None and series.unit == "Percent"
    assert [(b.start, b.sum, b.count, b.min, b.max) for b in store.buckets(series, 60, 360, 60)] == [
        (60, 4, 2, 1, 3), (120, 5, 1, 5, 5), (300, 7, 1, 7, 7)]
    assert [(b.start, b.sum, b.count) for b in store.buckets(series, 0, 600, 300)] == [(0, 9, 3), (300, 7, 1)]
    store.close()


def test_high_resolution_points_keep_their_seconds(tmp_path):
    store = MetricStore(tmp_path / "m.db")
    store.put([point(1, 61, resolution=1), point(2, 62, resolution=1)])
    series = store.find("AWS/MWAA", "CPUUtilization", DIMS)
    assert [b.start for b in store.buckets(series, 60, 70, 1)] == [61, 62]
    store.close()


def test_a_series_is_its_exact_dimension_set_and_listing_filters(tmp_path):
    store = MetricStore(tmp_path / "m.db")
    fewer = dimensions_of([("Environment", "dev")])
    store.put([point(1, 60), point(1, 60, dims=fewer), point(1, 60, name="MemoryUtilization")])
    assert store.find("AWS/MWAA", "CPUUtilization", fewer) is not None
    assert store.find("AWS/MWAA", "CPUUtilization", dimensions_of([("Environment", "prod")])) is None
    assert len(store.list(namespace="AWS/MWAA")) == 3
    assert len(store.list(dimensions=[("Cluster", None)])) == 2
    assert len(store.list(name="CPUUtilization", dimensions=[("Environment", "dev")])) == 2
    assert store.list(dimensions=[("Cluster", "BaseWorker")]) == []
    store.close()


def test_retention_drops_old_points_and_a_reopened_store_keeps_the_rest(tmp_path):
    store = MetricStore(tmp_path / "m.db", retention_days=1)
    store.put([point(1, 60), point(2, 86400 * 3)])
    assert store.prune(now=86400 * 3) == 1
    store.close()
    again = MetricStore(tmp_path / "m.db", retention_days=1)
    series = again.find("AWS/MWAA", "CPUUtilization", DIMS)
    assert [b.sum for b in again.buckets(series, 0, 86400 * 4, 60)] == [2]
    again.close()
