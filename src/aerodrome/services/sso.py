"""Single sign-on: a person signs in once through the identity provider, and each environment they
open gives them the Airflow role (and teams) their groups map to there.

The control plane is the one redirect URI registered with the provider. An environment's web
endpoint sends a browser without a session to `/sso/login` here; once the provider vouches for the
person, the browser goes back to the environment's own sign-in page with a one-time web login
token, the same path CreateWebLoginToken's tokens take. Attempts and sessions live in memory: a
restart of the control plane signs everyone out of Aerodrome (not of Airflow, whose session
cookie lives on until it expires)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from aerodrome import errors
from aerodrome.auth.oidc import Attempt, Provider
from aerodrome.domain import sso
from aerodrome.services.access import AccessService

ATTEMPT_TTL = 600.0  # a sign-in must come back from the provider within 10 minutes
MAX_ATTEMPTS = 10_000  # open sign-ins kept at once; the oldest are dropped beyond this
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Pending:
    attempt: Attempt
    environment: str | None  # None: a sign-in to the control plane itself (the console)
    next: str
    expires_at: float
    provider: str  # the issuer of the provider the attempt went to


@dataclass(frozen=True)
class Person:
    """A signed-in person as the provider described them."""
    name: str
    groups: tuple[str, ...]
    id_token: str = field(repr=False)
    expires_at: float
    provider: str  # the issuer that vouched for them


class SingleSignOn:
    def __init__(self, providers: Sequence[Provider], *, access: AccessService, role_map: sso.RoleMap,
                 groups_claim: str, plane_url: str, web_scheme: str, session_ttl: float,
                 principal_map: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time):
        # The first provider is the default; an environment's IdentityCenterConfiguration StartUrl
        # names another by its issuer or its start URL.
        self._providers = {provider.client.issuer: provider for provider in providers}
        self._default = providers[0]
        self._access = access
        self._role_map = role_map
        self._principal_map = principal_map or {}
        self._groups_claim = groups_claim
        self._plane_url = plane_url.rstrip("/")
        self._web_scheme = web_scheme
        self._session_ttl = session_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, Pending] = {}
        self._people: dict[str, Person] = {}

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()

    @property
    def redirect_uri(self) -> str:
        return f"{self._plane_url}/sso/callback"

    @property
    def signed_out_uri(self) -> str:
        return f"{self._plane_url}/sso/signed-out"

    def login_url(self, environment: str, next_path: str) -> str:
        """Where an environment's web endpoint sends a browser that has no session."""
        return f"{self._plane_url}/sso/login?environment={quote(environment)}&next={quote(next_path)}"

    def logout_url(self, environment: str) -> str:
        """Where an environment's web endpoint sends a browser signing out of Airflow."""
        return f"{self._plane_url}/sso/logout?environment={quote(environment)}"

    # --- sign-in ---------------------------------------------------------------------------------
    def begin(self, environment: str | None, next_path: str) -> tuple[str, str]:
        """(the provider's authorization URL, the attempt's state, which the browser keeps in a cookie
        so only it can finish the attempt). `environment` None: a sign-in to the control plane."""
        provider = self._default
        if environment is not None:
            provider = self.provider_for(environment)  # errors.NotFound for an unknown environment
        attempt = Attempt.new()
        url = provider.authorize_url(attempt, redirect_uri=self.redirect_uri)
        with self._lock:
            now = self._clock()
            self._pending = {k: p for k, p in self._pending.items() if p.expires_at > now}
            while len(self._pending) >= MAX_ATTEMPTS:
                self._pending.pop(next(iter(self._pending)))
            self._pending[attempt.state] = Pending(attempt, environment, next_path, now + ATTEMPT_TTL,
                                                   provider.client.issuer)
        return url, attempt.state

    def finish(self, *, state: str, browser_state: str, code: str) -> tuple[str, Person, Pending]:
        """(a new session id, the person, what they set out to open) once the provider's answer for
        the attempt `state` checks out; errors.Unauthenticated otherwise."""
        if not state or not secrets.compare_digest(state, browser_state or ""):
            raise errors.Unauthenticated("This sign-in was not started in this browser (its state does not "
                                         "match); open the environment again to sign in.")
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or pending.expires_at <= self._clock():
            raise errors.Unauthenticated("This sign-in is unknown or took longer than 10 minutes; open the "
                                         "environment again to sign in.")
        provider = self._providers[pending.provider]
        claims, id_token = provider.redeem(code, pending.attempt, redirect_uri=self.redirect_uri)
        groups = sso.groups_of(claims, self._groups_claim)
        name = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])
        person = Person(name, tuple(groups), id_token, self._clock() + self._session_ttl, pending.provider)
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            while len(self._people) >= MAX_SESSIONS:
                self._people.pop(next(iter(self._people)))
            self._people[_digest(session_id)] = person
        return session_id, person, pending

    def person(self, session_id: str) -> Person | None:
        with self._lock:
            person = self._people.get(_digest(session_id or ""))
        if person is None or person.expires_at <= self._clock():
            return None
        return person

    def provider_for(self, environment: str) -> Provider:
        """The provider people of `environment` sign in with: the one its IdentityCenterConfiguration's
        StartUrl names (by issuer or start URL), else the default."""
        center = self._access.target(environment).spec.identity_center
        start_url = (center.start_url or "").rstrip("/") if center is not None else ""
        for provider in self._providers.values():
            if start_url and start_url in (provider.client.issuer.rstrip("/"), provider.client.start_url.rstrip("/")):
                return provider
        return self._default

    def fits(self, person: Person, environment: str | None) -> bool:
        """Whether the person signed in with the provider `environment` uses (the default for None)."""
        provider = self.provider_for(environment) if environment is not None else self._default
        return provider.client.issuer == person.provider

    def principal_for(self, person: Person) -> str | None:
        """The principal the person acts as on the control plane (the console), if any."""
        return sso.principal_for(person.groups, self._principal_map)

    def enter(self, person: Person, environment: str, next_path: str) -> str:
        """The environment's sign-in address carrying a one-time token for the role (and teams) the
        person's groups give there; errors.AccessDenied when no group of theirs is mapped."""
        target = self._access.target(environment)
        if self.provider_for(environment).client.issuer != person.provider:
            raise errors.AccessDenied(
                f"The environment {environment} signs people in through another identity provider than the one "
                f"you signed in with; sign out and open it again.")
        role = sso.role_for(person.groups, self._role_map, environment)
        if role is None:
            shown = ", ".join(person.groups) or "none"
            raise errors.AccessDenied(
                f"You are signed in as {person.name}, but none of your groups ({shown}) has a role in the "
                f"environment {environment}. Ask your platform team to map one of them to an Airflow role.")
        teams = tuple(sso.teams_for(person.groups, target.spec.teams)) if target.spec.teams else None
        token = self._access.sign_in_token(environment, person=person.name, role=role, teams=teams)
        next_query = quote(next_path if next_path.startswith("/") else "/")
        return f"{self._web_scheme}://{target.hostname}/aws_mwaa/aws-console-sso?next={next_query}#{token}"

    # --- sign-out --------------------------------------------------------------------------------
    def end(self, session_id: str) -> str | None:
        """Forgets the session; the provider's address that ends its session too, when it has one."""
        with self._lock:
            person = self._people.pop(_digest(session_id or ""), None)
        if person is None:
            return None
        provider = self._providers[person.provider]
        return provider.logout_url(id_token=person.id_token, redirect_uri=self.signed_out_uri)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
