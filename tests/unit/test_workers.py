from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import workers

SPEC = EnvironmentSpec(name="e", execution_role_arn="arn:aws:iam::000000000000:role/x",
                       source_bucket_arn="arn:aws:s3:::b", dag_s3_path="dags", min_workers=2, max_workers=4)


def test_the_worker_count_survives_in_run_and_stays_within_the_bounds(tmp_path):
    assert workers.count(SPEC, tmp_path) == 2  # nothing recorded: MinWorkers
    workers.record_count(tmp_path, 3)
    assert workers.count(SPEC, tmp_path) == 3
    workers.record_count(tmp_path, 9)
    assert workers.count(SPEC, tmp_path) == 4
    assert workers.count(SPEC.replace(min_workers=1, max_workers=2), tmp_path) == 2
    (tmp_path / "scale.json").write_text("{broken")
    assert workers.count(SPEC, tmp_path) == 2


def test_new_workers_take_the_lowest_free_names(tmp_path):
    assert workers._free({"worker-1", "worker-3"}, 2) == ["worker-2", "worker-4"]
    assert workers._free(set(), 0) == []
    (tmp_path / "worker-2.pid").write_text("{}")
    (tmp_path / "worker-x.pid").write_text("{}")
    (tmp_path / "scheduler-1.pid").write_text("{}")
    assert workers.recorded_names(tmp_path) == ["worker-2"]
