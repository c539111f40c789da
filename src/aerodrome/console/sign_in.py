"""How a person becomes a console session: an access key id and its secret (checked against the
store's secret in constant time), or single sign-on's session cookie (the principal their groups map
to). Either way the session acts with fresh temporary credentials of that principal."""

from __future__ import annotations

import hmac

from aerodrome import errors
from aerodrome.console.sessions import SESSION_SECONDS, ConsoleSessions, digest
from aerodrome.services.credentials import TEMPORARY_PREFIX, CredentialService
from aerodrome.services.sso import SingleSignOn
from aerodrome.services.sts import SecurityTokenService

REFUSED = "The access key id or its secret is wrong."


class SignIn:
    def __init__(self, *, sessions: ConsoleSessions, credentials: CredentialService, sts: SecurityTokenService,
                 sso: SingleSignOn | None):
        self.sessions = sessions
        self.sso = sso
        self._credentials = credentials
        self._sts = sts

    def with_key(self, access_key_id: str, secret: str) -> str:
        """A new session's id for the owner of a permanent access key; errors.Unauthenticated otherwise."""
        if access_key_id.startswith(TEMPORARY_PREFIX):
            raise errors.Unauthenticated("Sign in with a permanent access key (AKIA...), not temporary credentials.")
        known = self._credentials.secret_for(access_key_id) if access_key_id else None
        if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
            raise errors.Unauthenticated(REFUSED)
        principal = self._sts.principal_of(access_key_id)
        issued = self._sts.console_session(principal, session_name=f"console-{principal}", seconds=SESSION_SECONDS)
        return self.sessions.open(principal=principal, person=None, credentials=issued)

    def with_sso(self, sso_cookie: str) -> str | None:
        """A new session's id for the person single sign-on's cookie names (None without one);
        errors.AccessDenied when their groups map to no principal."""
        person = self.sso.person(sso_cookie) if self.sso is not None and sso_cookie else None
        if person is None or self.sso is None:
            return None
        principal = self.sso.principal_for(person)
        if principal is None:
            shown = ", ".join(person.groups) or "none"
            raise errors.AccessDenied(f"You are signed in as {person.name}, but none of your groups ({shown}) acts "
                                      "as an Aerodrome principal. Ask your platform team to map one of them.")
        issued = self._sts.console_session(principal, session_name=person.name, seconds=SESSION_SECONDS)
        return self.sessions.open(principal=principal, person=person.name, credentials=issued, sso_cookie=sso_cookie)

    def sso_still_valid(self, sso_session: str | None, sso_cookie: str) -> bool:
        """A session that came from single sign-on lives only as long as that sign-on does."""
        if sso_session is None:
            return True
        return (self.sso is not None and hmac.compare_digest(sso_session, digest(sso_cookie or ""))
                and self.sso.person(sso_cookie) is not None)
