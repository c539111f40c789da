"""Principals, their policies, the one authorization decision for API calls, and the audit log."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from aerodrome import errors
from aerodrome.auth import policy
from aerodrome.store import credentials, principals
from aerodrome.store.audit_journal import Audit, DirectAudit
from aerodrome.store.db import Store
from aerodrome.store.principals import AuditEntry

ADMIN = "admin"
ADMIN_POLICY_NAME = "AdministratorAccess"
NO_ROLE = "No Airflow role granted in IAM."
# Who an access key acts as and what its policies say changes only when one of these does.
ACCESS_TABLES = ("principals", "policies", "credentials", "session_credentials")
MAX_CACHED = 10_000
MAX_DECISIONS = 1_000  # per key: (action, resource) pairs whose decision is kept


class PrincipalService:
    """Decisions are made per call; the parsed policies behind them, and the decisions they gave for
    each action and resource, are kept per access key until a principal, policy or key changes (the
    store's generations say when). Every call writes its audit entry to `audit` (a journal that
    stores them in the background) before it returns."""

    def __init__(self, *, store: Store, region: str, account: str, audit: Audit | None = None):
        self._store = store
        self._region = region
        self._account = account
        self._audit = audit or DirectAudit(store)
        self._known: dict[str, _Access] = {}
        self._known_lock = threading.Lock()

    # --- management ----------------------------------------------------------------------------
    def ensure_admin(self) -> None:
        """The admin principal (holder of the first admin key) may do everything. An admin policy
        written by an older version (MWAA actions only) is brought up to date."""
        with self._store.session() as session:
            current = principals.policies(ADMIN, session=session).get(ADMIN_POLICY_NAME)
            if principals.ensure(ADMIN, session=session) or \
                    (current is not None and json.loads(current) in policy.EARLIER_ADMIN_POLICIES):
                principals.put_policy(ADMIN, ADMIN_POLICY_NAME, json.dumps(policy.ADMIN_POLICY), session=session)
            if credentials.first_for(ADMIN, self._store.sealer, session=session) is None:
                credentials.issue(ADMIN, self._store.sealer, session=session)

    def create(self, name: str, *, actor: str = ADMIN) -> tuple[str, str]:
        """A new principal with one access key and no policy (so denied everything)."""
        _check_name("principal", name)
        with self._store.session() as session:
            if not principals.ensure(name, session=session):
                raise errors.Invalid(f"Principal {name} already exists.")
            key = credentials.issue(name, self._store.sealer, session=session)
            principals.record(actor, "aerodrome:CreatePrincipal", name, "ok", session=session)
            return key

    def delete(self, name: str, *, actor: str = ADMIN) -> None:
        if name == ADMIN:
            raise errors.Invalid("The admin principal cannot be deleted.")
        with self._store.session() as session:
            principals.remove(name, session=session)
            principals.record(actor, "aerodrome:DeletePrincipal", name, "ok", session=session)

    def attach(self, name: str, policy_name: str, document: str, *, actor: str = ADMIN) -> None:
        _check_name("policy", policy_name)
        if policy_name == principals.TRUST_NAME:
            raise errors.Invalid(f"{policy_name} is the name of a role's trust rule; set it as the trust rule.")
        policy.parse(document)
        with self._store.session() as session:
            self._must_exist(name, session)
            principals.put_policy(name, policy_name, json.dumps(json.loads(document)), session=session)
            principals.record(actor, "aerodrome:AttachPolicy", f"{name}/{policy_name}", "ok", session=session)

    def trust(self, name: str, document: str, *, actor: str = ADMIN) -> None:
        """Set who may assume principal `name` as a role (STS AssumeRole); the admin always may."""
        policy.parse_trust(document, account=self._account)
        with self._store.session() as session:
            self._must_exist(name, session)
            principals.put_policy(name, principals.TRUST_NAME, json.dumps(json.loads(document)), session=session,
                                  kind=principals.TRUST)
            principals.record(actor, "aerodrome:AttachPolicy", f"{name}/{principals.TRUST_NAME}", "ok",
                              session=session)

    def detach(self, name: str, policy_name: str, *, actor: str = ADMIN) -> None:
        with self._store.session() as session:
            principals.remove_policy(name, policy_name, session=session)
            principals.record(actor, "aerodrome:DetachPolicy", f"{name}/{policy_name}", "ok", session=session)

    def describe(self) -> list[dict]:
        """Names, access key ids (never secrets) and policies of every principal."""
        with self._store.session() as session:
            return [{"name": n, "access_keys": principals.key_ids(n, session=session),
                     "policies": {k: json.loads(v) for k, v in principals.policies(n, session=session).items()}}
                    for n in principals.names(session=session)]

    def audit(self, *, limit: int = 100) -> list[dict]:
        self._audit.wait_stored()
        with self._store.session() as session:
            return principals.audit(session=session, limit=limit)

    # --- decisions -----------------------------------------------------------------------------
    def authorize(self, access_key_id: str, action: str, resource: str) -> str:
        """The caller's principal if its policies allow `action` on `resource`; AccessDenied otherwise."""
        access = self._access(access_key_id)
        principal = access.principal
        decision = access.decisions.get((action, resource))
        if decision is None:
            decision = policy.decide(access.statements, action, resource)
            if len(access.decisions) < MAX_DECISIONS:
                access.decisions[(action, resource)] = decision
        self._audit.append(AuditEntry(principal, action, resource, "allowed" if decision == "Allow" else "denied"))
        if decision != "Allow":
            why = "an explicit deny in a policy" if decision == "Deny" else "no policy allows it"
            raise errors.AccessDenied(f"User: {principal} is not authorized to perform: {action} on resource: "
                                      f"{resource} because {why}.")
        return principal

    def granted_role(self, access_key_id: str, action: str, environment: str) -> tuple[str, str]:
        """(principal, strongest Airflow role its policies allow for `action` on `environment`)."""
        access = self._access(access_key_id)
        principal = access.principal
        role = policy.granted_role(access.statements, action, region=self._region, account=self._account,
                                   environment=environment)
        arn = policy.role_arn(region=self._region, account=self._account, environment=environment, role=role or "*")
        self._audit.append(AuditEntry(principal, action, arn, "allowed" if role else "denied"))
        if role is None:
            raise errors.AccessDenied(f"{NO_ROLE} {principal} may not perform {action} on any "
                                      f"arn:aws:airflow:{self._region}:{self._account}:role/{environment}/<role>.")
        return principal, role

    def record(self, principal: str, action: str, resource: str, outcome: str, detail: str = "") -> None:
        self._audit.append(AuditEntry(principal, action, resource, outcome, detail))

    def _access(self, access_key_id: str) -> _Access:
        """The principal `access_key_id` acts as and its parsed policies: kept while no principal,
        policy or key changes; read again otherwise (an unknown key always is)."""
        generation = self._store.generations.of(*ACCESS_TABLES)
        known = self._known.get(access_key_id)
        if known is not None and known.generation == generation:
            return known
        with self._store.session() as session:
            principal = principals.principal_of(access_key_id, session=session)
            if principal is None:
                raise errors.AccessDenied("The access key belongs to no principal.")
            statements: list[policy.Statement] = []
            for document in principals.policies(principal, session=session).values():
                statements.extend(policy.parse(document))
        access = _Access(generation, principal, statements, {})
        with self._known_lock:
            if len(self._known) >= MAX_CACHED:
                self._known.clear()
            self._known[access_key_id] = access
        return access

    @staticmethod
    def _must_exist(name: str, session: Session) -> None:
        if not principals.exists(name, session=session):
            raise errors.NotFound(f"Principal {name} does not exist.")


@dataclass(frozen=True, slots=True)
class _Access:
    generation: int  # of ACCESS_TABLES when read
    principal: str
    statements: list[policy.Statement]
    decisions: dict[tuple[str, str], str]  # (action, resource) -> policy.decide's answer


def _check_name(kind: str, name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_.@+=," for c in name):
        raise errors.Invalid(f"A {kind} name is 1-64 letters, digits or -_.@+=, characters.")
