"""Each team's DAG folder is mirrored from its bucket prefix beside the global one (the real sync loop,
local buckets, no Airflow); a moved folder is mirrored from its new prefix and a removed team's goes."""

import pytest

from aerodrome.domain.spec import TeamConfig
from tests.support import sync_world, wait_for


@pytest.fixture
def world(settings, store, tmp_path):
    syncs, events, spec, placement = sync_world(settings, store, tmp_path)
    bucket = settings.buckets_dir / "b"
    for key in ("dags/g.py", "teams/a/a.py", "teams/b/b.py", "teams/b2/b2.py"):
        (bucket / key).parent.mkdir(parents=True, exist_ok=True)
        (bucket / key).write_text(f"# {key}\n")
    yield syncs, spec, placement, events, bucket
    syncs.stop_all()


def files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_team_folders_follow_the_spec(world):
    syncs, spec, placement, events, bucket = world
    arn = spec.source_bucket_arn
    spec = spec.replace(teams={"team-a": TeamConfig(arn, "teams/a/"), "team-b": TeamConfig(arn, "teams/b/")})
    syncs.start("dev", spec, placement)
    assert files(placement.dags_dir) == ["g.py"]
    assert files(placement.team_dags_dir("team-a")) == ["a.py"]
    assert files(placement.team_dags_dir("team-b")) == ["b.py"]
    sources = {e["detail"].get("team"): e["detail"]["source"] for _, e in events.since(0, environment="dev")
               if e["detail-type"] == "Aerodrome Bundle Sync"}
    assert sources == {None: "s3://b/dags/", "team-a": "s3://b/teams/a/", "team-b": "s3://b/teams/b/"}

    (bucket / "teams/a/a2.py").write_text("# new\n")  # the loop keeps mirroring
    wait_for(lambda: files(placement.team_dags_dir("team-a")) == ["a.py", "a2.py"], timeout=30,
             what="team-a's upload mirrored")

    moved = spec.replace(teams={"team-b": TeamConfig(arn, "teams/b2/")})  # move team-b, remove team-a
    syncs.start("dev", moved, placement)
    assert files(placement.team_dags_dir("team-b")) == ["b2.py"]
    assert not placement.team_dags_dir("team-a").exists()
    assert syncs.status("dev", "team-a") is None and syncs.status("dev", "team-b") is not None
    assert files(placement.dags_dir) == ["g.py"]

    syncs.stop("dev")
    assert syncs.status("dev") is None and syncs.status("dev", "team-b") is None
