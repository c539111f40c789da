"""Execution-role credentials: the environment's token gets its role's temporary credentials, the role
is created on first use with MWAA's execution-role grants only, credentials are reused until a quarter
of an hour before they expire, and no token of another environment or the admin role gets any."""

import json

import pytest

from aerodrome import errors
from aerodrome.auth import policy
from aerodrome.services.credentials import CredentialService
from aerodrome.services.execution_roles import ExecutionRoleService, role_name
from aerodrome.store import principals
from tests.support import add

TOKEN = "e1.the-environments-own-token"


class Clock:
    now = 1_000_000.0

    def __call__(self):
        return self.now


def service(store, clock, token=TOKEN):
    return ExecutionRoleService(store=store, role_token=lambda placement: token if placement.env_id == "e1" else None,
                                region="us-east-1", account="000000000000", clock=clock)


def test_the_token_gets_working_credentials_of_a_role_created_with_mwaa_grants(store) -> None:
    add(store, "dev")  # execution role arn:aws:iam::000000000000:role/x
    clock = Clock()
    issued = service(store, clock).credentials(TOKEN)
    assert issued["RoleArn"] == "arn:aws:iam::000000000000:role/x"
    assert issued["AccessKeyId"].startswith("ASIA") and issued["Expiration"].endswith("Z")
    secret = CredentialService(store=store, clock=clock).secret_for(issued["AccessKeyId"], issued["Token"])
    assert secret == issued["SecretAccessKey"]
    with store.session() as session:
        documents = principals.policies("x", session=session)
    grants = policy.parse(documents["ExecutionRole-dev"])
    env_arn = "arn:aws:airflow:us-east-1:000000000000:environment/dev"
    assert policy.is_allowed(grants, "airflow:PublishMetrics", env_arn)
    assert not policy.is_allowed(grants, "airflow:InvokeRestApi", env_arn)
    assert not policy.is_allowed(grants, "airflow:CreateCliToken", env_arn)


def test_credentials_are_reused_then_renewed_before_they_expire(store) -> None:
    add(store, "dev")
    clock = Clock()
    roles = service(store, clock)
    first = roles.credentials(TOKEN)
    clock.now += 2000  # 40 min left of 60: still handed out
    assert roles.credentials(TOKEN)["AccessKeyId"] == first["AccessKeyId"]
    clock.now += 800  # under 15 min left: new ones
    assert roles.credentials(TOKEN)["AccessKeyId"] != first["AccessKeyId"]


@pytest.mark.parametrize("token", ["e1.someone-elses", "e2.the-environments-own-token", "", "no-dot"])
def test_a_wrong_token_gets_nothing(store, token) -> None:
    add(store, "dev")
    with pytest.raises(errors.AccessDenied):
        service(store, Clock()).credentials(token)


def test_the_admin_is_never_an_execution_role(store) -> None:
    add(store, "dev")
    with store.session() as session:
        from aerodrome.store.tables import EnvironmentRow

        row = session.get(EnvironmentRow, "dev")
        spec = json.loads(row.spec)
        spec["execution_role_arn"] = "arn:aws:iam::000000000000:role/service-role/admin"
        row.spec = json.dumps(spec)
    with pytest.raises(errors.AccessDenied, match="never an execution role"):
        service(store, Clock()).credentials(TOKEN)


def test_role_names_come_from_role_arns() -> None:
    assert role_name("arn:aws:iam::123456789012:role/service-role/mwaa-exec") == "mwaa-exec"
    with pytest.raises(errors.Invalid):
        role_name("arn:aws:iam::123456789012:user/alice")
