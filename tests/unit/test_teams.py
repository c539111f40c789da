"""MWAA's Teams rules, pure: versions, IdentityCenterConfiguration, overlapping DAG folders, UpdateTeamsInput."""

import pytest

from aerodrome import errors
from aerodrome.domain import teams, validation
from aerodrome.domain.spec import EnvironmentSpec, IdentityCenter, TeamConfig

BUCKET = "arn:aws:s3:::my-bucket"
IDENTITY = IdentityCenter(start_url="https://my-portal.awsapps.com/start", identity_store_id="d-1234567890")


def spec(team_paths: dict[str, str], *, dag_s3_path="dags/", version="3.3.2", identity=IDENTITY) -> EnvironmentSpec:
    return EnvironmentSpec(name="dev", execution_role_arn="arn:aws:iam::123456789012:role/a", source_bucket_arn=BUCKET,
                           dag_s3_path=dag_s3_path, airflow_version=version, identity_center=identity,
                           teams={name: TeamConfig(BUCKET, path) for name, path in team_paths.items()})


def test_separate_folders_pass():
    assert teams.problems(spec({"team-a": "teams/team-a/", "team-b": "teams/team-b/"})) == []
    assert teams.problems(spec({"team-a": "dags-team-a/"})) == []  # MWAA's own example: no overlap
    assert teams.problems(spec({}, version="2.11.2", identity=None)) == []  # no teams, nothing to check


@pytest.mark.parametrize(("team_paths", "dag_s3_path", "pair"), [
    ({"team-a": "dags/team-a/"}, "dags/", "DagS3Path (s3://my-bucket/dags/) and team team-a"),
    ({"team-a": "dags"}, "dags/team-a/", "DagS3Path (s3://my-bucket/dags/team-a/) and team team-a"),
    ({"team-a": "teams/", "team-b": "teams/team-b/"}, "dags/", "team team-a (s3://my-bucket/teams/) and team team-b"),
    ({"team-a": "shared/", "team-b": "shared/"}, "dags/", "team team-a (s3://my-bucket/shared/) and team team-b"),
    ({"team-a": "dags-team-a/"}, "dags", "DagS3Path (s3://my-bucket/dags) and team team-a"),  # the slash matters
])
def test_overlapping_folders_are_refused(team_paths, dag_s3_path, pair):
    found = teams.problems(spec(team_paths, dag_s3_path=dag_s3_path))
    assert len(found) == 1 and pair in found[0] and found[0].endswith("nor contain them.")


def test_same_prefix_in_another_bucket_does_not_overlap():
    other = spec({"team-a": "dags/"}).replace(teams={"team-a": TeamConfig("arn:aws:s3:::other-bucket", "dags/")})
    assert teams.problems(other) == []


def test_versions_without_multi_team_are_refused():
    for version in ("2.11.2", "3.2.1", "3.0.6"):
        assert teams.problems(spec({"team-a": "teams/a/"}, version=version)) == [
            f"Teams need Apache Airflow multi-team mode, which Airflow {version} does not have; use AirflowVersion "
            "3.3.1 or later."]
    assert teams.supports_teams("3.3.1") and teams.supports_teams("3.3.2") and teams.supports_teams("4.0.0")


def test_teams_need_identity_center():
    assert teams.problems(spec({"team-a": "teams/a/"}, identity=None)) == [
        "Teams need an IdentityCenterConfiguration: each team name must match the display name of a group of the "
        "identity provider the environment's people sign in with."]


def test_at_most_twenty_teams():
    found = teams.problems(spec({f"team-{i:02}": f"teams/{i:02}/" for i in range(21)}))
    assert found == ["An environment can have at most 20 teams; this one would have 21."]


def test_team_folder_must_stay_in_the_bucket():
    assert teams.problems(spec({"team-a": "teams/../dags/"})) == [
        "The DagS3Path of team team-a must be a key inside the bucket (no leading '/' or '..'); got teams/../dags/."]


def test_spec_validation_includes_teams():
    with pytest.raises(errors.Invalid, match="Teams need an IdentityCenterConfiguration"):
        validation.check(spec({"team-a": "teams/a/"}, identity=None))


def test_update_adds_changes_and_removes():
    current = {"team-a": TeamConfig(BUCKET, "teams/a/"), "team-b": TeamConfig(BUCKET, "teams/b/")}
    after = teams.updated(current, add_or_update={"team-a": TeamConfig(BUCKET, "teams/a2/"),
                                                  "team-c": TeamConfig(BUCKET, "teams/c/")}, remove=["team-b"])
    assert after == {"team-a": TeamConfig(BUCKET, "teams/a2/"), "team-c": TeamConfig(BUCKET, "teams/c/")}
    assert current["team-a"].dag_s3_path == "teams/a/"  # the input is left alone


def test_update_refuses_unknown_removal_and_both_lists():
    current = {"team-a": TeamConfig(BUCKET, "teams/a/")}
    with pytest.raises(errors.Invalid) as info:
        teams.updated(current, add_or_update={}, remove=["team-x"])
    assert str(info.value) == "Cannot remove teams team-x: the environment has no such team (it has team-a)."
    with pytest.raises(errors.Invalid) as info:
        teams.updated(current, add_or_update={"team-a": TeamConfig(BUCKET, "teams/a/")}, remove=["team-a"])
    assert str(info.value) == "Teams team-a cannot be both in AddOrUpdate and in Remove."


def test_spec_round_trips_teams():
    original = spec({"team-a": "teams/a/"})
    assert EnvironmentSpec.from_json(original.to_json()) == original
    assert EnvironmentSpec.from_json({**original.to_json(), "teams": None}).teams == {}  # older rows


def test_teams_turn_on_multi_team_mode_with_a_bundle_per_team():
    import json

    from aerodrome.runtimes.local import teams as local_teams
    from tests.support import PLACEMENT, env_of

    env = env_of(spec({"team-b": "teams/b/", "team-a": "teams/a/"}))
    assert env["AIRFLOW__CORE__MULTI_TEAM"] == "True"
    assert json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"]) == [
        {"name": "dags-folder", "classpath": local_teams.LOCAL_BUNDLE, "kwargs": {}},
        {"name": "team-team-a", "classpath": local_teams.LOCAL_BUNDLE, "team_name": "team-a",
         "kwargs": {"path": str(PLACEMENT.root / "team_dags" / "team-a")}},
        {"name": "team-team-b", "classpath": local_teams.LOCAL_BUNDLE, "team_name": "team-b",
         "kwargs": {"path": str(PLACEMENT.root / "team_dags" / "team-b")}}]
    plain = env_of(spec({}))
    assert "AIRFLOW__CORE__MULTI_TEAM" not in plain and "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST" not in plain
    # a raw option cannot turn it on or off: the spec's Teams decide
    assert env_of(spec({"team-a": "teams/a/"}).replace(
        airflow_configuration_options={"core.multi_team": "False"}))["AIRFLOW__CORE__MULTI_TEAM"] == "True"


def test_removed_teams_are_retired_until_added_again():
    current = spec({"team-a": "teams/a/", "team-b": "teams/b/"})
    assert teams.retired(current, {"team-b": current.teams["team-b"]}) == ("team-a",)
    retired = current.replace(teams={"team-b": current.teams["team-b"]}, retired_teams=("team-a",))
    assert teams.retired(retired, {}) == ("team-a", "team-b")
    assert teams.retired(retired, {"team-a": current.teams["team-a"], "team-b": current.teams["team-b"]}) == ()
    assert EnvironmentSpec.from_json(retired.to_json()) == retired


def test_a_retired_team_keeps_an_empty_bundle_of_its_own():
    import json

    from tests.support import PLACEMENT, env_of

    env = env_of(spec({"team-b": "teams/b/"}).replace(retired_teams=("team-a",)))
    bundles = json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert [(b["name"], b.get("team_name")) for b in bundles] == [
        ("dags-folder", None), ("team-team-a", "team-a"), ("team-team-b", "team-b")]
    assert bundles[1]["kwargs"] == {"path": str(PLACEMENT.root / "team_dags" / "team-a")}
    # every team removed: multi-team mode stays on, so the retired teams' DAGs stay theirs
    assert env_of(spec({}).replace(retired_teams=("team-a",)))["AIRFLOW__CORE__MULTI_TEAM"] == "True"


def test_team_names_are_checked_against_the_identity_provider_s_groups_only_when_they_are_known():
    assert teams.group_problems(["team-a"], None) == []
    assert teams.group_problems(["team-a"], {"team-a", "other"}) == []
    assert teams.group_problems(["team-b", "team-a", "team-c"], {"team-a"}) == [
        "Team names must match the display name of a group of the identity provider; team-b, team-c are no such group."]
