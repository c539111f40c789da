"""Execution roles: an environment's processes act as the principal its `ExecutionRoleArn` names.

They fetch temporary credentials the way ECS tasks (and so MWAA's containers) do: every AWS SDK's
container credential provider calls `AWS_CONTAINER_CREDENTIALS_FULL_URI` with the token in
`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` and refreshes before `Expiration`. The token is the
environment's own (its runtime keeps it with the environment's other secrets); the answer is STS
session credentials of the role, issued for an hour and handed out again until a quarter of an
hour before they expire. The role's principal is created on first use with a policy like MWAA's
execution-role policy: publishing metrics, logs and metric data for that environment, nothing else.
"""

from __future__ import annotations

import datetime
import hmac
import json
import re
import threading
import time
from collections.abc import Callable

from aerodrome import errors
from aerodrome.domain import worker_tokens
from aerodrome.domain.placement import Placement
from aerodrome.store import credentials, principals
from aerodrome.store import environments as environment_rows
from aerodrome.store.db import Store

ADMIN = "admin"  # never an execution role: a task would act with every right
LIFETIME = 3600.0  # seconds temporary role credentials live
RENEW_BEFORE = 900.0  # handed out again until this long before they expire
HOST_TOKEN_PREFIX = f"{worker_tokens.PREFIX}."  # a remote worker host's join token
_ROLE_NAME = re.compile(r"^arn:aws:iam::\d{12}:role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")


def role_name(role_arn: str) -> str:
    found = _ROLE_NAME.match(role_arn)
    if found is None:
        raise errors.Invalid(f"{role_arn} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).")
    return found.group(1)


def default_policy(environment_arn: str, *, region: str, account: str, environment: str) -> dict:
    """What MWAA's documented execution-role policy grants that Aerodrome serves."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "airflow:PublishMetrics", "Resource": environment_arn},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents",
                                       "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetLogGroupFields",
                                       "logs:GetQueryResults", "logs:DescribeLogGroups"],
         "Resource": f"arn:aws:logs:{region}:{account}:log-group:airflow-{environment}-*"},
        {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
    ]}


class ExecutionRoleService:
    def __init__(self, *, store: Store, role_token: Callable[[Placement], str | None], region: str, account: str,
                 host_environment: Callable[[str], str] | None = None, clock: Callable[[], float] = time.time):
        """`host_environment(token)`: the environment of a remote worker host's join token (AccessDenied
        for any other), so tasks on a joined host act as the role too, until the token is revoked."""
        self._store = store
        self._role_token = role_token
        self._host_environment = host_environment
        self._region = region
        self._account = account
        self._clock = clock
        self._issued: dict[str, tuple[str, dict]] = {}  # env_id -> (role ARN, credentials)
        self._lock = threading.Lock()

    def credentials(self, token: str) -> dict:
        """Credentials in the container provider's shape for the environment whose token this is."""
        with self._store.session() as session:
            records = environment_rows.all_records(session=session)
        if self._host_environment is not None and token.startswith(HOST_TOKEN_PREFIX):
            name = self._host_environment(token)
            record = next((r for r in records if r.name == name), None)
            if record is None:
                raise errors.AccessDenied("The authorization token names no environment.")
        else:
            env_id = token.partition(".")[0]
            record = next((r for r in records if r.placement.env_id == env_id), None)
            expected = self._role_token(record.placement) if record is not None else None
            if record is None or not expected or not hmac.compare_digest(expected, token):
                raise errors.AccessDenied("The authorization token names no environment.")
        env_id = record.placement.env_id
        role_arn = record.spec.execution_role_arn
        with self._lock:
            role, issued = self._issued.get(env_id, ("", {}))
            if role != role_arn or issued.get("_expires", 0.0) - RENEW_BEFORE <= self._clock():
                issued = self._issue(record.name, record.arn, role_arn)
                self._issued[env_id] = (role_arn, issued)
        return {k: v for k, v in issued.items() if not k.startswith("_")}

    def _issue(self, environment: str, environment_arn: str, role_arn: str) -> dict:
        role = role_name(role_arn)
        if role == ADMIN:
            raise errors.AccessDenied(f"{role_arn} names the admin principal, which is never an execution role.")
        expires = self._clock() + LIFETIME
        policy_name = f"ExecutionRole-{environment}"
        with self._store.session() as session:
            created = principals.ensure(role, session=session)
            if created or policy_name not in principals.policies(role, session=session):
                document = default_policy(environment_arn, region=self._region, account=self._account,
                                          environment=environment)
                principals.put_policy(role, policy_name, json.dumps(document), session=session)
            key, secret, token = credentials.issue_session(role, self._store.sealer, role_session=environment,
                                                           expires_at=expires, session=session)
            principals.record(role, "sts:AssumeRole", role_arn, "allowed", session=session)
        expiration = datetime.datetime.fromtimestamp(int(expires), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"AccessKeyId": key, "SecretAccessKey": secret, "Token": token, "Expiration": expiration,
                "RoleArn": role_arn, "_expires": expires}
