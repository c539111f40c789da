"""Every constrained member, through real boto3: the error code and the whole message."""

import pytest
from botocore.exceptions import ClientError

from tests.support import minimal

PATTERN = "failed to satisfy constraint: Member must satisfy regular expression pattern: "
ONE = "1 validation error detected: "

CREATE_CASES = [
    ({"Name": "bad name!"}, f"Value 'bad name!' at 'name' {PATTERN}[a-zA-Z][0-9a-zA-Z-_]*"),
    ({"Name": "x" * 81}, f"Value '{'x' * 81}' at 'name' failed to satisfy constraint: Member must have length "
                         "less than or equal to 80"),
    ({"ExecutionRoleArn": "role"}, f"Value 'role' at 'executionRoleArn' {PATTERN}"
                                   r"arn:aws(-[a-z]+)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"),
    ({"SourceBucketArn": "my-bucket"}, f"Value 'my-bucket' at 'sourceBucketArn' {PATTERN}"
                                       r"arn:aws(-[a-z]+)?:s3:::[a-z0-9.\-]+"),
    ({"DagS3Path": "d" * 1025}, f"Value '{'d' * 120}' at 'dagS3Path' failed to satisfy constraint: Member must "
                                "have length less than or equal to 1024"),
    ({"NetworkConfiguration": {"SubnetIds": ["subnet-a"], "SecurityGroupIds": ["sg-a"]}},
     "Value at 'networkConfiguration.subnetIds' failed to satisfy constraint: Member must have length greater "
     "than or equal to 2"),
    ({"NetworkConfiguration": {"SubnetIds": ["net-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}},
     f"Value 'net-a' at 'networkConfiguration.subnetIds.1.member' {PATTERN}subnet-[a-zA-Z0-9\\-._]+"),
    ({"NetworkConfiguration": {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["group"]}},
     f"Value 'group' at 'networkConfiguration.securityGroupIds.1.member' {PATTERN}sg-[a-zA-Z0-9\\-._]+"),
    ({"NetworkConfiguration": {"SubnetIds": ["subnet-a", "subnet-b"],
                               "SecurityGroupIds": [f"sg-{i}" for i in range(6)]}},
     "Value at 'networkConfiguration.securityGroupIds' failed to satisfy constraint: Member must have length "
     "less than or equal to 5"),
    ({"AirflowVersion": "3.3.2!"}, f"Value '3.3.2!' at 'airflowVersion' {PATTERN}[0-9a-z.]+"),
    ({"WebserverAccessMode": "NOPE"}, "Value 'NOPE' at 'webserverAccessMode' failed to satisfy constraint: Member "
                                      "must satisfy enum value set: [PRIVATE_ONLY, PUBLIC_ONLY, PUBLIC_AND_PRIVATE]"),
    ({"EndpointManagement": "ME"}, "Value 'ME' at 'endpointManagement' failed to satisfy constraint: Member must "
                                   "satisfy enum value set: [CUSTOMER, SERVICE]"),
    ({"WeeklyMaintenanceWindowStart": "FUN:03:30"}, f"Value 'FUN:03:30' at 'weeklyMaintenanceWindowStart' {PATTERN}"
                                                    r".*(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30).*"),
    ({"Schedulers": 6}, "Value '6' at 'schedulers' failed to satisfy constraint: Member must have value less "
                        "than or equal to 5"),
    ({"AirflowConfigurationOptions": {"Core.X": "1"}}, f"Value 'Core.X' at 'airflowConfigurationOptions.key' "
                                                       f"{PATTERN}[a-z]+([a-z0-9._]*[a-z0-9_]+)?"),
    ({"AirflowConfigurationOptions": {"core.x": "s\u00e9cret"}},
     f"Value at 'airflowConfigurationOptions.value' {PATTERN}[ -~]+"),
    ({"Tags": {"k!": "v"}}, f"Value 'k!' at 'tags.key' {PATTERN}([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)"),
    ({"Tags": {"k": "v" * 257}}, f"Value '{'v' * 120}' at 'tags.k' failed to satisfy constraint: Member must have "
                                 "length less than or equal to 256"),
    ({"Tags": {f"k{i}": "v" for i in range(51)}}, "Value at 'tags' failed to satisfy constraint: Member must "
                                                  "have length less than or equal to 50"),
    ({"KmsKey": "not-a-key"}, f"Value 'not-a-key' at 'kmsKey' {PATTERN}"),
    ({"LoggingConfiguration": {"TaskLogs": {"Enabled": True, "LogLevel": "LOUD"}}},
     "Value 'LOUD' at 'loggingConfiguration.taskLogs.logLevel' failed to satisfy constraint: Member must satisfy "
     "enum value set: [CRITICAL, ERROR, WARNING, INFO, DEBUG]"),
]

RULE_CASES = [
    ({"AirflowVersion": "2.7.2"}, "AirflowVersion 2.7.2 is not supported; choose one of 3.3.2, 3.3.1, 3.2.1, "
                                "3.0.6, 2.11.2, 2.11.0, 2.10.3, 2.10.1, 2.9.2."),
    ({"EnvironmentClass": "mw1.huge"}, "EnvironmentClass mw1.huge is not valid; choose one of mw1.micro, mw1.small, "
                                       "mw1.medium, mw1.large, mw1.xlarge, mw1.2xlarge."),
    ({"MinWorkers": 5, "MaxWorkers": 2}, "MinWorkers (5) must not be greater than MaxWorkers (2)."),
    ({"EnvironmentClass": "mw1.micro", "Schedulers": 2, "MaxWorkers": 1},
     "Schedulers (2) is more than mw1.micro allows (1); lower it or choose a larger EnvironmentClass."),
    ({"EnvironmentClass": "mw1.micro", "MaxWorkers": 2},
     "MaxWorkers (2) is more than mw1.micro allows (1); lower it or choose a larger EnvironmentClass."),
    ({"MaxWorkers": 26}, "MaxWorkers (26) is more than mw1.small allows (25); lower it or choose a larger "
                         "EnvironmentClass."),
    ({"AirflowConfigurationOptions": {"core.multi_team": "True"}},
     "AirflowConfigurationOptions key core.multi_team cannot be set: Teams turns multi-team mode on."),
    ({"AirflowConfigurationOptions": {"triggerer.queues_enabled": "True", "core.executor": "LocalExecutor"}},
     "AirflowConfigurationOptions key core.executor cannot be set: the environment always runs the CeleryExecutor. "
     "AirflowConfigurationOptions key triggerer.queues_enabled cannot be set: MWAA does not support triggerer "
     "queues."),
    ({"MaxWebservers": 6}, "MaxWebservers must be between 1 and 5; got 6."),
    ({"MinWebservers": 3, "MaxWebservers": 2}, "MinWebservers (3) must not be greater than MaxWebservers (2)."),
    ({"DagS3Path": "/dags"}, "DagS3Path must be a key inside the bucket (no leading '/' or '..'); got /dags."),
    ({"PluginsS3Path": "../plugins.zip"}, "PluginsS3Path must be a key inside the bucket (no leading '/' or '..'); "
                                          "got ../plugins.zip."),
]


def error(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


@pytest.mark.parametrize(("members", "message"), CREATE_CASES, ids=lambda v: str(v)[:40])
def test_create_rejects_bad_members(raw_mwaa, members, message):
    code, text = error(raw_mwaa.create_environment, **minimal(**members))
    assert code == "ValidationException"
    if message.endswith(PATTERN):
        assert text.startswith(ONE + message)
    else:
        assert text == ONE + message


@pytest.mark.parametrize(("members", "message"), RULE_CASES, ids=lambda v: str(v)[:40])
def test_create_rejects_broken_rules(raw_mwaa, members, message):
    assert error(raw_mwaa.create_environment, **minimal(**members)) == ("ValidationException", message)
    assert raw_mwaa.list_environments()["Environments"] == []


def test_several_problems_are_listed_together(raw_mwaa):
    code, text = error(raw_mwaa.create_environment, **minimal(Name="bad name!", Schedulers=9))
    assert code == "ValidationException" and text.startswith("2 validation errors detected: ")


def test_sensitive_values_never_echo(raw_mwaa):
    _, text = error(raw_mwaa.create_environment, **minimal(AirflowConfigurationOptions={"core.x": "p\u00e4ssword"}))
    assert "ssword" not in text


def test_update_validates_like_create(raw_mwaa, control_plane):
    from aerodrome.domain.status import Status
    from aerodrome.store import environments as rows

    raw_mwaa.create_environment(**minimal())
    with control_plane["environments"]._store.session() as session:  # make it updatable
        rows.transition("dev", Status.AVAILABLE, session=session)
    assert error(raw_mwaa.update_environment, Name="dev", MinWorkers=20) == (
        "ValidationException", "MinWorkers (20) must not be greater than MaxWorkers (10).")
    assert error(raw_mwaa.update_environment, Name="dev", WebserverAccessMode="X")[1].startswith(ONE + "Value 'X'")
    assert raw_mwaa.get_environment(Name="dev")["Environment"]["Status"] == "AVAILABLE"
    raw_mwaa.update_environment(Name="dev", MaxWorkers=3, AirflowConfigurationOptions={"core.parallelism": "8"})
    env = raw_mwaa.get_environment(Name="dev")["Environment"]
    assert env["Status"] == "UPDATING" and env["MaxWorkers"] == 3
    assert env["AirflowConfigurationOptions"] == {"core.parallelism": "8"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"MaxResults": 26}, "Value '26' at 'maxResults' failed to satisfy constraint: Member must have value less "
                         "than or equal to 25"),
    ({"NextToken": "t" * 2049}, f"Value '{'t' * 120}' at 'nextToken' failed to satisfy constraint: Member must "
                                "have length less than or equal to 2048"),
])
def test_list_rejects_bad_paging(raw_mwaa, kwargs, message):
    assert error(raw_mwaa.list_environments, **kwargs) == ("ValidationException", ONE + message)


def test_tag_and_untag_validate(raw_mwaa):
    arn = raw_mwaa.create_environment(**minimal())["Arn"]
    code, text = error(raw_mwaa.tag_resource, ResourceArn=arn, Tags={"bad!": "v"})
    assert code == "ValidationException" and "at 'tags.key'" in text
    code, text = error(raw_mwaa.untag_resource, ResourceArn=arn, tagKeys=[f"k{i}" for i in range(51)])
    assert (code, text) == ("ValidationException", ONE + "Value at 'tagKeys' failed to satisfy constraint: Member "
                            "must have length less than or equal to 50")
    code, text = error(raw_mwaa.list_tags_for_resource, ResourceArn="arn:aws:s3:::bucket")
    assert code == "ValidationException" and "at 'resourceArn'" in text


def test_bundles_are_pinned_when_accepted(raw_mwaa, settings):
    bucket = settings.buckets_dir / "my-bucket"
    (bucket / "requirements.txt").write_text("pyjokes\n")
    raw_mwaa.create_environment(**minimal(RequirementsS3Path="requirements.txt"))
    pinned = raw_mwaa.get_environment(Name="dev")["Environment"]["RequirementsS3ObjectVersion"]
    assert pinned == __import__("hashlib").md5(b"pyjokes\n").hexdigest()
    (bucket / "requirements.txt").write_text("pyjokes==0.8.3\n")  # a later change does not move the pin
    assert raw_mwaa.get_environment(Name="dev")["Environment"]["RequirementsS3ObjectVersion"] == pinned


@pytest.mark.parametrize(("members", "message"), [
    ({"PluginsS3Path": "plugins.zip"}, "PluginsS3Path s3://my-bucket/plugins.zip does not exist; upload it first, "
                                       "then retry."),
    ({"StartupScriptS3Path": "startup.sh", "StartupScriptS3ObjectVersion": "v1"},
     "StartupScriptS3ObjectVersion v1 of s3://my-bucket/startup.sh does not exist"),
    ({"RequirementsS3ObjectVersion": "v1"}, "RequirementsS3ObjectVersion was given without RequirementsS3Path; "
                                            "give both."),
])
def test_missing_bundles_are_refused(raw_mwaa, settings, members, message):
    (settings.buckets_dir / "my-bucket" / "startup.sh").write_text("echo hi\n")
    code, text = error(raw_mwaa.create_environment, **minimal(**members))
    assert code == "ValidationException" and text.startswith(message), text
    assert raw_mwaa.list_environments()["Environments"] == []
