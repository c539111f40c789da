"""Real boto3 against the real MWAA app, services and store (no Airflow started)."""

import boto3
import pytest
from botocore.config import Config

from tests.support import error_of, minimal


def test_create_get_list_update_delete_round_trip(mwaa, control_plane):
    arn = mwaa.create_environment(**minimal(Tags={"team": "data"}, MaxWorkers=4,
                                            AirflowConfigurationOptions={"core.default_timezone": "utc"}))["Arn"]
    assert arn == "arn:aws:airflow:us-east-1:000000000000:environment/dev"
    assert control_plane["wakes"] == ["dev"]
    env = mwaa.get_environment(Name="dev")["Environment"]
    assert env["Status"] == "CREATING"
    assert env["Arn"] == arn and env["MaxWorkers"] == 4 and env["MinWorkers"] == 1
    assert env["AirflowVersion"] == "3.3.2" and env["EnvironmentClass"] == "mw1.small"
    assert env["Tags"] == {"team": "data"}
    assert env["NetworkConfiguration"] == {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}
    assert env["LastUpdate"]["Status"] == "PENDING"
    assert env["WebserverUrl"].startswith("localhost:")
    assert "CeleryExecutorQueue" not in env  # the broker address appears once the runtime has wired it
    assert set(env["LoggingConfiguration"]) == {"DagProcessingLogs", "SchedulerLogs", "TaskLogs",
                                                 "WebserverLogs", "WorkerLogs"}
    assert mwaa.list_environments()["Environments"] == ["dev"]

    # an update while CREATING is refused, as MWAA does
    code, message = error_of(mwaa.update_environment, Name="dev", MaxWorkers=5)
    assert code == "ValidationException" and "is CREATING" in message

    mwaa.delete_environment(Name="dev")
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "DELETING"
    mwaa.delete_environment(Name="dev")  # idempotent while deleting


def test_raw_json_types_on_the_wire(mwaa, control_plane):
    """Terraform's Go SDK needs epoch numbers and a LastUpdate object."""
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    mwaa.create_environment(**minimal())
    request = AWSRequest(method="GET", url=f"{control_plane['url']}/environments/dev")
    SigV4Auth(Credentials(control_plane["key"], control_plane["secret"]), "airflow", "us-east-1").add_auth(request)
    reply = httpx.get(request.url, headers=dict(request.headers))
    env = reply.json()["Environment"]
    assert reply.headers["content-type"] == "application/json" and reply.headers["x-amzn-requestid"]
    assert isinstance(env["CreatedAt"], float) and isinstance(env["LastUpdate"]["CreatedAt"], float)
    assert isinstance(env["MaxWorkers"], int) and isinstance(env["LoggingConfiguration"]["TaskLogs"]["Enabled"], bool)


def test_pagination(mwaa):
    for name in ("a1", "b2", "c3"):
        mwaa.create_environment(**minimal(Name=name))
    first = mwaa.list_environments(MaxResults=2)
    assert first["Environments"] == ["a1", "b2"] and first["NextToken"]
    second = mwaa.list_environments(MaxResults=2, NextToken=first["NextToken"])
    assert second["Environments"] == ["c3"] and "NextToken" not in second
    pages = mwaa.get_paginator("list_environments").paginate(PaginationConfig={"PageSize": 1})
    assert [n for page in pages for n in page["Environments"]] == ["a1", "b2", "c3"]
    code, message = error_of(mwaa.list_environments, NextToken="bm9wZQ==")
    assert code == "ValidationException" and "NextToken is not valid" in message


def test_tags_with_percent_encoded_arn(mwaa):
    arn = mwaa.create_environment(**minimal(Tags={"a": "1"}))["Arn"]
    mwaa.tag_resource(ResourceArn=arn, Tags={"b": "2", "c": "3"})
    assert mwaa.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "1", "b": "2", "c": "3"}
    mwaa.untag_resource(ResourceArn=arn, tagKeys=["a", "c"])
    assert mwaa.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2"}
    missing = "arn:aws:airflow:us-east-1:000000000000:environment/nope"
    assert error_of(mwaa.list_tags_for_resource, ResourceArn=missing) == (
        "ResourceNotFoundException", f"Resource {missing} not found.")


def test_unknown_environment(mwaa):
    assert error_of(mwaa.get_environment, Name="ghost") == ("ResourceNotFoundException",
                                                            "Environment ghost not found.")
    assert error_of(mwaa.delete_environment, Name="ghost")[0] == "ResourceNotFoundException"
    assert error_of(mwaa.update_environment, Name="ghost", MaxWorkers=2)[0] == "ResourceNotFoundException"


def test_duplicate_name_and_missing_bucket(mwaa):
    mwaa.create_environment(**minimal())
    assert error_of(mwaa.create_environment, **minimal()) == ("ValidationException", "Environment dev already exists.")
    code, message = error_of(mwaa.create_environment, **minimal(Name="x", SourceBucketArn="arn:aws:s3:::nobucket"))
    assert code == "ValidationException" and "Unable to access the bucket nobucket" in message


def test_host_prefix_is_accepted(control_plane):
    """Without disabling host-prefix injection botocore sends Host: api.<host>; routing ignores the host."""
    client = boto3.client("mwaa", endpoint_url=control_plane["url"].replace("127.0.0.1", "localhost"),
                          aws_access_key_id=control_plane["key"], aws_secret_access_key=control_plane["secret"],
                          region_name="eu-west-1", config=Config(inject_host_prefix=False))
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=f"{control_plane['url']}/environments",
                         headers={"Host": "api.mwaa.test:1234"})
    SigV4Auth(Credentials(control_plane["key"], control_plane["secret"]), "airflow", "eu-west-1").add_auth(request)
    reply = httpx.get(request.url, headers=dict(request.headers))
    assert reply.status_code == 200 and reply.json() == {"Environments": []}
    assert client.list_environments()["Environments"] == []


def test_bad_credentials_are_refused(control_plane):
    def client(key, secret):
        return boto3.client("mwaa", endpoint_url=control_plane["url"], aws_access_key_id=key,
                            aws_secret_access_key=secret, region_name="us-east-1",
                            config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))

    code, message = error_of(client("AKIAUNKNOWN000000000", "x").list_environments)
    assert code == "UnrecognizedClientException" and "security token" in message
    code, message = error_of(client(control_plane["key"], "wrong-secret").list_environments)
    assert code == "InvalidSignatureException" and "does not match" in message
    assert "wrong-secret" not in message


def test_unsigned_request_is_refused(control_plane):
    import httpx

    reply = httpx.get(f"{control_plane['url']}/environments")
    assert reply.status_code == 403
    assert reply.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_customer_endpoints_wait_for_confirmation(mwaa, control_plane, settings):

    from aerodrome.runtimes import endpoints

    mwaa.create_environment(**minimal(EndpointManagement="CUSTOMER"))
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "PENDING"
    service = control_plane["environments"]
    service.confirm_endpoints("dev")
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "CREATING"
    with pytest.raises(Exception, match="is CREATING, not PENDING"):
        service.confirm_endpoints("dev")
    root = service.placement("dev").root
    root.mkdir(parents=True)
    endpoints.write(root, broker_url="redis://:s3cret@127.0.0.1:6390/4",
                    database_url="postgresql+psycopg2://env_x:pa55@127.0.0.1:15432/env_x")
    env = mwaa.get_environment(Name="dev")["Environment"]
    assert env["CeleryExecutorQueue"] == "redis://127.0.0.1:6390/4"
    assert env["DatabaseVpcEndpointService"] == "postgresql://env_x@127.0.0.1:15432/env_x"
