"""Who may do what, through real boto3: policies decide every call, web login roles come from role
resources, tokens are issued only to those allowed, and nothing secret is written to the audit log."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from aerodrome.api.aws.app import build_mwaa_app
from aerodrome.runtimes.local.placement import HostPlacements
from aerodrome.services.access import AccessService
from aerodrome.services.cloudwatch import CloudWatchService
from aerodrome.services.credentials import CredentialService
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.metrics import MetricsService
from aerodrome.services.principals import PrincipalService
from aerodrome.services.tokens import Tokens
from aerodrome.telemetry.metric_store import MetricStore
from tests.support import minimal, serve_asgi

ROLE = "arn:aws:airflow:us-east-1:000000000000:role/{env}/{role}"


@pytest.fixture
def plane(settings, store):
    (settings.buckets_dir / "my-bucket").mkdir(parents=True)
    environments = EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings),
                                      wake=lambda name: None)
    principals = PrincipalService(store=store, region=settings.region, account=settings.account)
    principals.ensure_admin()
    access = AccessService(environments=environments, runtime=None, principals=principals, tokens=Tokens())
    metric_store = MetricStore(settings.metrics_file)
    cloudwatch = CloudWatchService(metric_store)
    app = build_mwaa_app(environments=environments, credentials=CredentialService(store=store),
                         region=settings.region, account=settings.account, authorizer=principals, access=access,
                         metrics=MetricsService(environments=environments, cloudwatch=cloudwatch))
    with serve_asgi(app) as url:
        def client(key, secret):
            return boto3.client("mwaa", endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret,
                                region_name="us-east-1",
                                config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))

        admin = client(*CredentialService(store=store).admin())
        admin.create_environment(**minimal(Name="dev"))
        admin.create_environment(**minimal(Name="prod"))
        yield {"client": client, "admin": admin, "principals": principals, "settings": settings,
               "environments": environments, "cloudwatch": cloudwatch}
    metric_store.close()


def principal(plane, name, *statements):
    key, secret = plane["principals"].create(name)
    if statements:
        plane["principals"].attach(name, "p", json.dumps({"Statement": list(statements)}))
    return plane["client"](key, secret), secret


def error_of(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_principal_without_policy_is_denied_everything(plane):
    mwaa, _ = principal(plane, "nobody")
    code, message = error_of(lambda: mwaa.get_environment(Name="dev"))
    assert code == "AccessDeniedException"
    assert "nobody is not authorized to perform: airflow:GetEnvironment" in message
    assert error_of(mwaa.list_environments)[0] == "AccessDeniedException"
    assert error_of(lambda: mwaa.create_cli_token(Name="dev"))[0] == "AccessDeniedException"


def test_resource_wildcards_and_explicit_deny(plane):
    mwaa, _ = principal(
        plane, "reader",
        {"Effect": "Allow", "Action": ["airflow:Get*", "airflow:ListEnvironments"], "Resource": "*"},
        {"Effect": "Deny", "Action": "airflow:*", "Resource": "arn:aws:airflow:*:*:environment/prod"})
    assert mwaa.get_environment(Name="dev")["Environment"]["Name"] == "dev"
    assert mwaa.list_environments()["Environments"] == ["dev", "prod"]
    code, message = error_of(lambda: mwaa.get_environment(Name="prod"))
    assert code == "AccessDeniedException" and "explicit deny" in message
    assert error_of(lambda: mwaa.delete_environment(Name="dev"))[0] == "AccessDeniedException"
    assert plane["admin"].get_environment(Name="dev")["Environment"]["Status"] == "CREATING"


def test_web_login_role_comes_from_role_resources(plane):
    mwaa, _ = principal(
        plane, "viewer",
        {"Effect": "Allow", "Action": "airflow:CreateWebLoginToken", "Resource": ROLE.format(env="dev", role="Viewer")})
    reply = mwaa.create_web_login_token(Name="dev")
    hostname = plane["admin"].get_environment(Name="dev")["Environment"]["WebserverUrl"]
    assert reply["WebServerHostname"] == hostname
    placement = plane["environments"].placement("dev")
    assert hostname == f"localhost:{placement.gateway_port}" and placement.gateway_port != placement.web_port
    assert reply["IamIdentity"] == "user/viewer" and len(reply["WebToken"]) >= 40
    code, message = error_of(lambda: mwaa.create_web_login_token(Name="prod"))
    assert code == "AccessDeniedException" and "No Airflow role granted in IAM" in message
    admin_token = plane["admin"].create_web_login_token(Name="prod")
    assert admin_token["AirflowIdentity"] == "assumed-role/admin"


def test_cli_token_and_unknown_environment(plane):
    reply = plane["admin"].create_cli_token(Name="dev")
    assert reply["WebServerHostname"] == plane["admin"].get_environment(Name="dev")["Environment"]["WebserverUrl"]
    assert reply["CliToken"] != plane["admin"].create_cli_token(Name="dev")["CliToken"]
    assert error_of(lambda: plane["admin"].create_cli_token(Name="nope"))[0] == "ResourceNotFoundException"


def test_publish_metrics_lands_in_cloudwatch_under_amazonmwaa(plane):
    import datetime

    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    plane["admin"].publish_metrics(EnvironmentName="dev", MetricData=[{
        "MetricName": "TaskInstanceSuccesses", "Timestamp": now,
        "Dimensions": [{"Name": "DAG", "Value": "d"}], "Value": 3.0, "Unit": "Count"}])
    got = plane["cloudwatch"].get_metric_statistics({
        "Namespace": "AmazonMWAA", "MetricName": "TaskInstanceSuccesses", "Period": 60, "Statistics": ["Sum"],
        "Dimensions": [{"Name": "Environment", "Value": "dev"}, {"Name": "DAG", "Value": "d"}],
        "StartTime": now - datetime.timedelta(minutes=2), "EndTime": now + datetime.timedelta(minutes=2)})
    assert [(p["Sum"], p["Unit"]) for p in got["Datapoints"]] == [(3.0, "Count")]
    assert error_of(lambda: plane["admin"].publish_metrics(EnvironmentName="nope", MetricData=[{
        "MetricName": "x", "Timestamp": now, "Value": 1.0}]))[0] == "ResourceNotFoundException"


def test_audit_log_names_callers_and_never_secrets(plane):
    mwaa, secret = principal(plane, "auditee")
    error_of(lambda: mwaa.get_environment(Name="dev"))
    token = plane["admin"].create_cli_token(Name="dev")["CliToken"]
    entries = plane["principals"].audit()
    assert {"principal": "auditee", "action": "airflow:GetEnvironment", "outcome": "denied"}.items() <= \
        next(e for e in entries if e["principal"] == "auditee").items()
    dumped = json.dumps(entries) + json.dumps(plane["principals"].describe())
    assert secret not in dumped and token not in dumped
