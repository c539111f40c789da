"""STS on the MWAA endpoint: who the caller is, and temporary credentials (GetSessionToken for the
caller's own principal, AssumeRole for a principal whose trust rule lets the caller assume it)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from aerodrome import errors
from aerodrome.auth import policy
from aerodrome.store import credentials, principals
from aerodrome.store.db import Store
from aerodrome.store.tables import SessionCredentialRow

ADMIN = "admin"  # may assume every role
SESSION_TOKEN_SECONDS = (900, 129600, 43200)  # GetSessionToken: least, most, default
ASSUME_ROLE_SECONDS = (900, 43200, 3600)  # AssumeRole: least, most, default
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


class SecurityTokenService:
    def __init__(self, *, store: Store, account: str, clock: Callable[[], float] = time.time):
        self._store = store
        self._account = account
        self._clock = clock

    def caller_identity(self, access_key_id: str) -> dict:
        with self._store.session() as session:
            principal, role_session = self._caller(access_key_id, session)
        if role_session is None:
            return {"UserId": self._id("AIDA", principal), "Account": self._account, "Arn": self._user_arn(principal)}
        return {"UserId": f"{self._id('AROA', principal)}:{role_session}", "Account": self._account,
                "Arn": self._assumed_arn(principal, role_session)}

    def session_token(self, access_key_id: str, *, duration: int | None) -> dict:
        seconds = _duration(duration, SESSION_TOKEN_SECONDS)
        with self._store.session() as session:
            if session.get(SessionCredentialRow, access_key_id) is not None:
                raise errors.AccessDenied("Cannot call GetSessionToken with session credentials")
            principal, _ = self._caller(access_key_id, session)
            issued = self._issue(principal, None, seconds, session)
            principals.record(principal, "sts:GetSessionToken", self._user_arn(principal), "allowed", session=session)
        return {"Credentials": issued}

    def assume_role(self, access_key_id: str, *, role_arn: str, session_name: str, duration: int | None) -> dict:
        seconds = _duration(duration, ASSUME_ROLE_SECONDS)
        found = _ROLE_ARN.match(role_arn)
        if found is None:
            raise errors.Invalid(f"{role_arn} is invalid: a role ARN is arn:aws:iam::<account>:role/<name>.")
        if not _SESSION_NAME.match(session_name):
            raise errors.Invalid("RoleSessionName must be 2-64 letters, digits or _+=,.@- characters.")
        role = found.group(2)
        with self._store.session() as session:
            principal, role_session = self._caller(access_key_id, session)
            caller_arns = [self._user_arn(principal)] if role_session is None else \
                [self._assumed_arn(principal, role_session), f"arn:aws:iam::{self._account}:role/{principal}"]
            allowed = self._may_assume(principal, caller_arns, found.group(1), role, session)
            principals.record(principal, "sts:AssumeRole", role_arn, "allowed" if allowed else "denied",
                              session=session)  # kept when refused: the refusal is raised after commit
            issued = self._issue(role, session_name, seconds, session) if allowed else {}
        if not allowed:
            raise errors.AccessDenied(f"User: {caller_arns[0]} is not authorized to perform: sts:AssumeRole on "
                                      f"resource: {role_arn}")
        return {"Credentials": issued,
                "AssumedRoleUser": {"AssumedRoleId": f"{self._id('AROA', role)}:{session_name}",
                                    "Arn": self._assumed_arn(role, session_name)}}

    def console_session(self, principal: str, *, session_name: str, seconds: int) -> dict:
        """Temporary credentials acting as `principal` for a web console session (the console signed its
        person in: with the principal's access key, or through single sign-on), recorded in the audit
        log as `aerodrome:ConsoleSignIn`. The console keeps them in its memory only."""
        name = re.sub(r"[^\w+=,.@-]", "-", session_name)[:64].ljust(2, "-")
        with self._store.session() as session:
            if not principals.exists(principal, session=session):
                raise errors.AccessDenied(f"The principal {principal} does not exist.")
            issued = self._issue(principal, name, seconds, session)
            principals.record(principal, "aerodrome:ConsoleSignIn", self._assumed_arn(principal, name), "allowed",
                              session=session)
        return issued

    def principal_of(self, access_key_id: str) -> str:
        """The principal a permanent access key belongs to; AccessDenied for an unknown key."""
        with self._store.session() as session:
            return self._caller(access_key_id, session)[0]

    def _may_assume(self, principal: str, caller_arns: list[str], account: str, role: str, session: Session) -> bool:
        """The role must be a principal of this account; the admin may assume it, others as its trust rule says."""
        if account != self._account or not principals.exists(role, session=session):
            return False
        if principal == ADMIN:
            return True
        rule = principals.policies(role, session=session, kind=principals.TRUST).get(principals.TRUST_NAME)
        return rule is not None and policy.trusts(policy.parse_trust(rule, account=self._account), caller_arns)

    def _issue(self, principal: str, role_session: str | None, seconds: int, session: Session) -> dict:
        expires = self._clock() + seconds
        key, secret, token = credentials.issue_session(principal, self._store.sealer, role_session=role_session,
                                                       expires_at=expires, session=session)
        expiration = datetime.datetime.fromtimestamp(int(expires), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"AccessKeyId": key, "SecretAccessKey": secret, "SessionToken": token, "Expiration": expiration}

    @staticmethod
    def _caller(access_key_id: str, session: Session) -> tuple[str, str | None]:
        """(principal, AssumeRole session name or None) of a verified caller."""
        temporary = session.get(SessionCredentialRow, access_key_id)
        if temporary is not None:
            return temporary.principal, temporary.role_session
        principal = principals.principal_of(access_key_id, session=session)
        if principal is None:
            raise errors.AccessDenied("The access key belongs to no principal.")
        return principal, None

    def _user_arn(self, principal: str) -> str:
        return f"arn:aws:iam::{self._account}:user/{principal}"

    def _assumed_arn(self, role: str, role_session: str) -> str:
        return f"arn:aws:sts::{self._account}:assumed-role/{role}/{role_session}"

    def _id(self, prefix: str, principal: str) -> str:
        """A stable unique id in IAM's shape (AIDA... for users, AROA... for roles)."""
        digest = hashlib.sha256(f"{self._account}:{prefix}:{principal}".encode()).digest()
        return prefix + base64.b32encode(digest).decode()[:17]


def _duration(value: int | None, limits: tuple[int, int, int]) -> int:
    least, most, default = limits
    if value is None:
        return default
    if not least <= value <= most:
        raise errors.Invalid(f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy "
                             f"constraint: Member must have value between {least} and {most}")
    return value
