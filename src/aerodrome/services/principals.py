"""Principals, their policies, the one authorization decision for API calls, and the audit log."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from aerodrome import errors
from aerodrome.auth import policy
from aerodrome.store import credentials as keys
from aerodrome.store import principals as rows
from aerodrome.store.db import Store

ADMIN = "admin"
NO_ROLE = "No Airflow role granted in IAM."


class PrincipalService:
    def __init__(self, *, store: Store, region: str, account: str):
        self._store = store
        self._region = region
        self._account = account

    # --- management ----------------------------------------------------------------------------
    def ensure_admin(self) -> None:
        """The admin principal (holder of the first admin key) may do everything."""
        with self._store.session() as session:
            if rows.ensure(ADMIN, session=session):
                rows.put_policy(ADMIN, "AdministratorAccess", json.dumps(policy.ADMIN_POLICY), session=session)
            if keys.first_for(ADMIN, session=session) is None:
                keys.issue(ADMIN, session=session)

    def create(self, name: str) -> tuple[str, str]:
        """A new principal with one access key and no policy (so denied everything)."""
        if not name or len(name) > 64 or not all(c.isalnum() or c in "-_.@+=," for c in name):
            raise errors.Invalid("A principal name is 1-64 letters, digits or -_.@+=, characters.")
        with self._store.session() as session:
            if not rows.ensure(name, session=session):
                raise errors.Invalid(f"Principal {name} already exists.")
            key = keys.issue(name, session=session)
            rows.record(ADMIN, "aerodrome:CreatePrincipal", name, "ok", session=session)
            return key

    def delete(self, name: str) -> None:
        if name == ADMIN:
            raise errors.Invalid("The admin principal cannot be deleted.")
        with self._store.session() as session:
            rows.remove(name, session=session)
            rows.record(ADMIN, "aerodrome:DeletePrincipal", name, "ok", session=session)

    def attach(self, name: str, policy_name: str, document: str) -> None:
        policy.parse(document)
        with self._store.session() as session:
            self._must_exist(name, session)
            rows.put_policy(name, policy_name, json.dumps(json.loads(document)), session=session)
            rows.record(ADMIN, "aerodrome:AttachPolicy", f"{name}/{policy_name}", "ok", session=session)

    def detach(self, name: str, policy_name: str) -> None:
        with self._store.session() as session:
            rows.remove_policy(name, policy_name, session=session)
            rows.record(ADMIN, "aerodrome:DetachPolicy", f"{name}/{policy_name}", "ok", session=session)

    def describe(self) -> list[dict]:
        """Names, access key ids (never secrets) and policies of every principal."""
        with self._store.session() as session:
            return [{"name": n, "access_keys": rows.key_ids(n, session=session),
                     "policies": {k: json.loads(v) for k, v in rows.policies(n, session=session).items()}}
                    for n in rows.names(session=session)]

    def audit(self, *, limit: int = 100) -> list[dict]:
        with self._store.session() as session:
            return rows.audit(session=session, limit=limit)

    # --- decisions -----------------------------------------------------------------------------
    def authorize(self, access_key_id: str, action: str, resource: str) -> str:
        """The caller's principal if its policies allow `action` on `resource`; AccessDenied otherwise."""
        with self._store.session() as session:
            principal, statements = self._statements(access_key_id, session)
            decision = policy.decide(statements, action, resource)
            rows.record(principal, action, resource, "allowed" if decision == "Allow" else "denied",
                        session=session)
        if decision != "Allow":
            why = "an explicit deny in a policy" if decision == "Deny" else "no policy allows it"
            raise errors.AccessDenied(f"User: {principal} is not authorized to perform: {action} on resource: "
                                      f"{resource} because {why}.")
        return principal

    def granted_role(self, access_key_id: str, action: str, environment: str) -> tuple[str, str]:
        """(principal, strongest Airflow role its policies allow for `action` on `environment`)."""
        with self._store.session() as session:
            principal, statements = self._statements(access_key_id, session)
            role = policy.granted_role(statements, action, region=self._region, account=self._account,
                                       environment=environment)
            arn = policy.role_arn(region=self._region, account=self._account, environment=environment,
                                  role=role or "*")
            rows.record(principal, action, arn, "allowed" if role else "denied", session=session)
        if role is None:
            raise errors.AccessDenied(f"{NO_ROLE} {principal} may not perform {action} on any "
                                      f"arn:aws:airflow:{self._region}:{self._account}:role/{environment}/<role>.")
        return principal, role

    def record(self, principal: str, action: str, resource: str, outcome: str, detail: str = "") -> None:
        with self._store.session() as session:
            rows.record(principal, action, resource, outcome, detail, session=session)

    def _statements(self, access_key_id: str, session: Session) -> tuple[str, list[policy.Statement]]:
        principal = rows.principal_of(access_key_id, session=session)
        if principal is None:
            raise errors.AccessDenied("The access key belongs to no principal.")
        statements: list[policy.Statement] = []
        for document in rows.policies(principal, session=session).values():
            statements.extend(policy.parse(document))
        return principal, statements

    @staticmethod
    def _must_exist(name: str, session: Session) -> None:
        if not rows.exists(name, session=session):
            raise errors.NotFound(f"Principal {name} does not exist.")
