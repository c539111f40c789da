"""STS on the MWAA endpoint: real boto3 `sts` and `mwaa` clients (and the AWS CLI) against the served app."""

import json
import time

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import update

from aerodrome.store.tables import SessionCredentialRow
from tests.support import aws_cli, error_of, minimal


def client(service, control_plane, credentials=None, **options):
    if credentials is None:
        keys = {"aws_access_key_id": control_plane["key"], "aws_secret_access_key": control_plane["secret"]}
    else:
        keys = {"aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"]}
    return boto3.client(service, endpoint_url=control_plane["url"], region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}, **options), **keys)


@pytest.fixture
def sts(control_plane):
    return client("sts", control_plane)


@pytest.fixture
def account(settings):
    return settings.account


def role(control_plane, name, *, trusted, allowed_environment):
    """A principal `name` that `trusted` (ARN patterns) may assume, allowed every MWAA call on one environment."""
    principals = control_plane["principals"]
    principals.create(name)
    principals.attach(name, "dev-only", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "airflow:*",
         "Resource": f"arn:aws:airflow:us-east-1:*:environment/{allowed_environment}"}]}))
    principals.trust(name, json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}]}))


def test_get_caller_identity_of_the_admin_key(sts, account):
    identity = sts.get_caller_identity()
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:iam::{account}:user/admin"
    assert identity["UserId"].startswith("AIDA")


def test_the_aws_cli_gets_the_caller_identity(control_plane, tmp_path, account):
    result = aws_cli(control_plane, tmp_path, "sts", "get-caller-identity")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == f"arn:aws:iam::{account}:user/admin"


def test_session_token_credentials_call_the_mwaa_api(sts, control_plane, account, mwaa):
    mwaa.create_environment(**minimal())
    credentials = sts.get_session_token()["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    lifetime = credentials["Expiration"].timestamp() - time.time()
    assert 43200 - 60 < lifetime <= 43200 + 1
    assert client("mwaa", control_plane, credentials).list_environments()["Environments"] == ["dev"]
    identity = client("sts", control_plane, credentials).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{account}:user/admin"
    short = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert short["Expiration"].timestamp() - time.time() <= 901
    code, _ = error_of(client("sts", control_plane, credentials).get_session_token)
    assert code == "AccessDenied"  # not with session credentials, as AWS


def test_an_assumed_role_is_authorized_by_its_own_policy(control_plane, account, mwaa):
    mwaa.create_environment(**minimal())
    mwaa.create_environment(**minimal(Name="prod"))
    role(control_plane, "deployer", trusted=f"arn:aws:iam::{account}:user/alice", allowed_environment="dev")
    alice_key, alice_secret = control_plane["principals"].create("alice")  # no policy of her own
    alice = client("sts", {**control_plane, "key": alice_key, "secret": alice_secret})
    assumed = alice.assume_role(RoleArn=f"arn:aws:iam::{account}:role/deployer", RoleSessionName="ci-run")
    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/deployer/ci-run"
    lifetime = assumed["Credentials"]["Expiration"].timestamp() - time.time()
    assert 3600 - 60 < lifetime <= 3601
    as_role = client("mwaa", control_plane, assumed["Credentials"])
    assert as_role.get_environment(Name="dev")["Environment"]["Name"] == "dev"
    assert error_of(as_role.get_environment, Name="prod")[0] == "AccessDeniedException"
    assert error_of(as_role.list_environments)[0] == "AccessDeniedException"  # resource "*" is not dev
    identity = client("sts", control_plane, assumed["Credentials"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{account}:assumed-role/deployer/ci-run"
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(":ci-run")


def test_a_role_the_trust_rule_does_not_name_is_refused(control_plane, account, sts):
    role(control_plane, "deployer", trusted=f"arn:aws:iam::{account}:user/alice", allowed_environment="dev")
    bob_key, bob_secret = control_plane["principals"].create("bob")
    bob = client("sts", {**control_plane, "key": bob_key, "secret": bob_secret})
    arn = f"arn:aws:iam::{account}:role/deployer"
    code, message = error_of(bob.assume_role, RoleArn=arn, RoleSessionName="s1")
    assert code == "AccessDenied" and f"user/bob is not authorized to perform: sts:AssumeRole on resource: {arn}" \
        in message
    # a role that is no principal, or one of another account, is refused too
    assert error_of(sts.assume_role, RoleArn=f"arn:aws:iam::{account}:role/nobody", RoleSessionName="s1")[0] \
        == "AccessDenied"
    assert error_of(sts.assume_role, RoleArn="arn:aws:iam::123456789012:role/deployer", RoleSessionName="s1")[0] \
        == "AccessDenied"
    assert sts.assume_role(RoleArn=arn, RoleSessionName="admin-may")["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_bad_assume_role_requests_are_refused(control_plane, account):
    raw = client("sts", control_plane, parameter_validation=False)
    arn = f"arn:aws:iam::{account}:role/admin"
    assert error_of(raw.assume_role, RoleArn=arn, RoleSessionName="s", DurationSeconds=900)[0] == "ValidationError"
    assert error_of(raw.assume_role, RoleArn=arn, RoleSessionName="ok", DurationSeconds=43201)[0] \
        == "ValidationError"
    assert error_of(raw.get_session_token, DurationSeconds=899)[0] == "ValidationError"
    assert error_of(raw.assume_role, RoleArn="not-an-arn", RoleSessionName="ok")[0] == "ValidationError"
    assert error_of(raw.assume_role, RoleArn=arn)[0] == "MissingParameter"


def test_expired_credentials_are_refused(sts, control_plane, store):
    credentials = sts.get_session_token()["Credentials"]
    with store.session() as session:
        session.execute(update(SessionCredentialRow).where(
            SessionCredentialRow.access_key_id == credentials["AccessKeyId"]).values(expires_at=time.time() - 1))
    code, message = error_of(client("mwaa", control_plane, credentials).list_environments)
    assert (code, message) == ("ExpiredTokenException", "The security token included in the request is expired")
    assert error_of(client("sts", control_plane, credentials).get_caller_identity)[0] == "ExpiredTokenException"


def test_a_forged_session_token_is_refused(sts, control_plane):
    credentials = sts.get_session_token()["Credentials"]
    forged = {**credentials, "SessionToken": credentials["SessionToken"][:-4] + "AAAA"}
    assert error_of(client("mwaa", control_plane, forged).list_environments)[0] == "UnrecognizedClientException"
    assert error_of(client("sts", control_plane, forged).get_caller_identity)[0] == "InvalidClientTokenId"
    no_token = {**credentials, "SessionToken": None}
    assert error_of(client("mwaa", control_plane, no_token).list_environments)[0] == "UnrecognizedClientException"
    # a permanent key with someone's session token is refused too
    with_token = {"AccessKeyId": control_plane["key"], "SecretAccessKey": control_plane["secret"],
                  "SessionToken": credentials["SessionToken"]}
    assert error_of(client("sts", control_plane, with_token).get_caller_identity)[0] == "InvalidClientTokenId"


@pytest.mark.parametrize(("body", "code"), [
    ("Action=DeleteEverything&Version=2011-06-15", "InvalidAction"),
    ("Version=2011-06-15", "MissingAction"),
    ("Action=GetCallerIdentity&Version=2011-06-15&%zz", "MalformedQueryString"),
])
def test_unknown_or_malformed_requests_get_errors_botocore_parses(sts, body, code):
    def replace_body(request, **_):
        request.data = body.encode()

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", replace_body)
    assert error_of(sts.get_caller_identity)[0] == code


def test_mwaa_requests_are_unchanged(mwaa):
    """A request signed for the MWAA API never reaches STS, whatever its path or body."""
    assert mwaa.list_environments()["Environments"] == []
