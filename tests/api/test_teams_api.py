"""Teams and IdentityCenterConfiguration through real boto3: wire shapes, MWAA's rules, nothing changed on refusal."""

import pytest
from botocore.exceptions import ClientError

from tests.support import minimal

BUCKET = "arn:aws:s3:::my-bucket"
IDENTITY = {"StartUrl": "https://my-portal.awsapps.com/start", "IdentityStoreId": "d-1234567890"}
TEAMS = {"team-a": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/team-a/"},
         "team-b": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/team-b/"}}


def error(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def available(control_plane, name="dev"):
    from aerodrome.domain.status import Status
    from aerodrome.store import environments as rows

    with control_plane["environments"]._store.session() as session:
        rows.transition(name, Status.AVAILABLE, session=session)


def test_create_and_get_show_teams(mwaa):
    mwaa.create_environment(**minimal(IdentityCenterConfiguration=IDENTITY, Teams=TEAMS))
    env = mwaa.get_environment(Name="dev")["Environment"]
    assert env["Teams"] == TEAMS
    assert env["IdentityCenterConfiguration"] == IDENTITY


def test_without_teams_get_shows_neither(mwaa):
    mwaa.create_environment(**minimal())
    env = mwaa.get_environment(Name="dev")["Environment"]
    assert "Teams" not in env and "IdentityCenterConfiguration" not in env


@pytest.mark.parametrize(("members", "message"), [
    ({"Teams": TEAMS}, "Teams need an IdentityCenterConfiguration: each team name must match the display name of a "
                       "group of the identity provider the environment's people sign in with."),
    ({"Teams": TEAMS, "IdentityCenterConfiguration": IDENTITY, "AirflowVersion": "2.11.2"},
     "Teams need Apache Airflow multi-team mode, which Airflow 2.11.2 does not have; use AirflowVersion 3.3.1 or "
     "later."),
    ({"Teams": {"team-a": {"SourceBucketArn": BUCKET, "DagS3Path": "dags/team-a/"}},
      "IdentityCenterConfiguration": IDENTITY, "DagS3Path": "dags/"},
     "The DAG folders of DagS3Path (s3://my-bucket/dags/) and team team-a (s3://my-bucket/dags/team-a/) overlap; a "
     "team's DAG folder cannot be inside the environment's DAG folder or another team's, nor contain them."),
])
def test_create_refuses_broken_team_rules(raw_mwaa, members, message):
    assert error(raw_mwaa.create_environment, **minimal(**members)) == ("ValidationException", message)
    assert raw_mwaa.list_environments()["Environments"] == []


@pytest.mark.parametrize(("teams", "message"), [
    ({"t!": {"SourceBucketArn": BUCKET, "DagS3Path": "x/"}},
     "Value 't!' at 'teams.key' failed to satisfy constraint: Member must have length greater than or equal to 3"),
    ({"-team": {"SourceBucketArn": BUCKET, "DagS3Path": "x/"}},
     "Value '-team' at 'teams.key' failed to satisfy constraint: Member must satisfy regular expression pattern: "
     "[a-zA-Z0-9][a-zA-Z0-9_-]*"),
    ({}, "Value at 'teams' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    ({f"team-{i:02}": {"SourceBucketArn": BUCKET, "DagS3Path": f"t/{i:02}/"} for i in range(21)},
     "Value at 'teams' failed to satisfy constraint: Member must have length less than or equal to 20"),
    ({"team-a": {"DagS3Path": "x/"}},
     "Value null at 'teams.team-a.sourceBucketArn' failed to satisfy constraint: Member must not be null"),
])
def test_create_refuses_bad_team_members(raw_mwaa, teams, message):
    code, text = error(raw_mwaa.create_environment, **minimal(Teams=teams, IdentityCenterConfiguration=IDENTITY))
    assert (code, text) == ("ValidationException", "1 validation error detected: " + message)


def test_identity_center_members_are_checked(raw_mwaa):
    code, text = error(raw_mwaa.create_environment, **minimal(IdentityCenterConfiguration={"StartUrl": "http://x"}))
    assert code == "ValidationException"
    assert text == ("1 validation error detected: Value 'http://x' at 'identityCenterConfiguration.startUrl' failed "
                    "to satisfy constraint: Member must satisfy regular expression pattern: https://.+")


def test_update_adds_changes_and_removes_teams(mwaa, control_plane):
    mwaa.create_environment(**minimal(IdentityCenterConfiguration=IDENTITY, Teams=TEAMS))
    available(control_plane)
    mwaa.update_environment(Name="dev", Teams={
        "AddOrUpdate": {"team-a": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/team-a2/"},
                        "team-c": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/team-c/"}},
        "Remove": ["team-b"]})
    env = mwaa.get_environment(Name="dev")["Environment"]
    assert env["Status"] == "UPDATING"
    assert env["Teams"] == {"team-a": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/team-a2/"},
                            "team-c": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/team-c/"}}
    assert env["IdentityCenterConfiguration"] == IDENTITY
    spec = control_plane["environments"].get("dev").spec
    assert spec.retired_teams == ("team-b",)  # kept inside, never on the wire

    available(control_plane)
    mwaa.update_environment(Name="dev", Teams={"AddOrUpdate": {"team-b": TEAMS["team-b"]}})
    assert control_plane["environments"].get("dev").spec.retired_teams == ()  # added again


@pytest.mark.parametrize(("teams", "message"), [
    ({"Remove": ["team-x"]}, "Cannot remove teams team-x: the environment has no such team (it has team-a, team-b)."),
    ({"AddOrUpdate": {"team-a": TEAMS["team-a"]}, "Remove": ["team-a"]},
     "Teams team-a cannot be both in AddOrUpdate and in Remove."),
    ({"AddOrUpdate": {"team-c": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/"}}},
     "The DAG folders of team team-a (s3://my-bucket/teams/team-a/) and team team-c (s3://my-bucket/teams/) "
     "overlap; a team's DAG folder cannot be inside the environment's DAG folder or another team's, nor contain "
     "them. The DAG folders of team team-b (s3://my-bucket/teams/team-b/) and team team-c (s3://my-bucket/teams/) "
     "overlap; a team's DAG folder cannot be inside the environment's DAG folder or another team's, nor contain "
     "them."),
])
def test_update_refuses_bad_team_changes(raw_mwaa, control_plane, teams, message):
    raw_mwaa.create_environment(**minimal(IdentityCenterConfiguration=IDENTITY, Teams=TEAMS))
    available(control_plane)
    assert error(raw_mwaa.update_environment, Name="dev", Teams=teams) == ("ValidationException", message)
    env = raw_mwaa.get_environment(Name="dev")["Environment"]
    assert env["Status"] == "AVAILABLE" and env["Teams"] == TEAMS


def test_update_to_a_version_without_multi_team_is_refused(raw_mwaa, control_plane):
    raw_mwaa.create_environment(**minimal(IdentityCenterConfiguration=IDENTITY, Teams=TEAMS))
    available(control_plane)
    code, text = error(raw_mwaa.update_environment, Name="dev", AirflowVersion="3.2.1")
    assert (code, text) == ("ValidationException", "Teams need Apache Airflow multi-team mode, which Airflow 3.2.1 "
                            "does not have; use AirflowVersion 3.3.1 or later.")


def test_update_adds_teams_to_an_environment_without(mwaa, control_plane):
    mwaa.create_environment(**minimal())
    available(control_plane)
    with pytest.raises(ClientError, match="Teams need an IdentityCenterConfiguration"):
        mwaa.update_environment(Name="dev", Teams={"AddOrUpdate": {"team-a": TEAMS["team-a"]}})
    mwaa.update_environment(Name="dev", IdentityCenterConfiguration=IDENTITY,
                            Teams={"AddOrUpdate": {"team-a": TEAMS["team-a"]}})
    assert mwaa.get_environment(Name="dev")["Environment"]["Teams"] == {"team-a": TEAMS["team-a"]}


@pytest.mark.parametrize("known_groups", [frozenset({"team-a", "airflow-users"})])
def test_team_names_that_are_no_group_of_the_identity_provider_are_refused(mwaa, control_plane):
    teams = {**TEAMS, "team-z": {"SourceBucketArn": BUCKET, "DagS3Path": "teams/team-z/"}}
    code, message = error(mwaa.create_environment, **minimal(IdentityCenterConfiguration=IDENTITY, Teams=teams))
    assert code == "ValidationException"
    assert "team-b, team-z are no such group" in message
    assert mwaa.list_environments()["Environments"] == []
    mwaa.create_environment(**minimal(IdentityCenterConfiguration=IDENTITY, Teams={"team-a": TEAMS["team-a"]}))
    available(control_plane)
    code, message = error(mwaa.update_environment, Name="dev", Teams={"AddOrUpdate": {"team-b": TEAMS["team-b"]}})
    assert code == "ValidationException" and "team-b is no such group" in message
    assert set(mwaa.get_environment(Name="dev")["Environment"]["Teams"]) == {"team-a"}
