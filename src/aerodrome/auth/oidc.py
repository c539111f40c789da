"""An OpenID Connect relying party: authorization code flow with PKCE against any standard identity
provider (discovery, JWKS, token endpoint, RP-initiated logout). The ID token is checked with
joserfc; the PKCE challenge and random values come from authlib."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from aerodrome import errors

# Asymmetric signatures only: an HS256 token would be signed with the client secret, which this
# side holds too, so it proves nothing about the identity provider.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY = 60  # seconds of clock skew tolerated between Aerodrome and the identity provider
TIMEOUT = 10.0


class BadSignature(errors.Unauthenticated):
    """No key of the provider's set verifies the token (perhaps one it rotated in since)."""


@dataclass(frozen=True)
class Client:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str = "openid profile email groups"
    start_url: str = ""  # what an environment's IdentityCenterConfiguration StartUrl may name it by


def clients_from_json(text: str) -> list[Client]:
    """More identity providers from the settings: a JSON list of objects with issuer, client_id,
    client_secret and optionally scopes and start_url. ValueError saying what is wrong."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"The SSO providers setting is not JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError("The SSO providers setting is a JSON list of {issuer, client_id, client_secret} objects.")
    clients = []
    for entry in entries:
        missing = [k for k in ("issuer", "client_id", "client_secret") if not isinstance(entry, dict) or
                   not isinstance(entry.get(k), str) or not entry.get(k)]
        if missing:
            raise ValueError(f"An SSO provider lacks {', '.join(missing)}; each needs issuer, client_id and "
                             f"client_secret.")
        clients.append(Client(entry["issuer"], entry["client_id"], entry["client_secret"],
                              entry.get("scopes") or Client.scopes, entry.get("start_url") or ""))
    return clients


@dataclass(frozen=True)
class Attempt:
    """What a sign-in remembers between sending the browser to the provider and its return."""
    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Attempt:
        return cls(generate_token(32), generate_token(32), generate_token(64))


def verify_id_token(token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str,
                    now: Callable[[], float] = time.time) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, expiry and nonce hold;
    errors.Unauthenticated saying which did not."""
    try:
        decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
    except JoseError as exc:
        raise BadSignature(f"The identity provider's ID token does not verify ({exc.error}).") from None
    claims = decoded.claims
    registry = JWTClaimsRegistry(now=lambda: int(now()), leeway=LEEWAY,
                                 iss={"essential": True, "value": issuer},
                                 aud={"essential": True, "value": client_id},
                                 exp={"essential": True}, sub={"essential": True},
                                 nonce={"essential": True, "value": nonce})
    try:
        registry.validate(claims)
    except JoseError as exc:
        claim = getattr(exc, "claim", "") or ""
        reason = {"exp": "it has expired; sign in again", "aud": "it was issued to another client",
                  "iss": "it comes from another issuer", "nonce": "its nonce does not match this sign-in",
                  }.get(claim, exc.description or exc.error)
        raise errors.Unauthenticated(f"The identity provider's ID token is refused: {reason}.") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise errors.Unauthenticated("The identity provider's ID token is refused: it was issued to another client.")
    return dict(claims)


class Provider:
    """One identity provider, its metadata and keys read on first use and kept (keys read again
    when a token names a key not seen yet, as providers rotate them)."""

    def __init__(self, client: Client, *, http: httpx.Client | None = None) -> None:
        self.client = client
        self._http = http or httpx.Client(timeout=TIMEOUT)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def close(self) -> None:
        self._http.close()

    def metadata(self) -> Mapping[str, Any]:
        with self._lock:
            if self._metadata is None:
                url = self.client.issuer.rstrip("/") + "/.well-known/openid-configuration"
                document = self._get(url)
                if document.get("issuer") != self.client.issuer:
                    raise errors.Temporary(f"The identity provider at {url} names itself {document.get('issuer')!r}, "
                                           f"not the configured issuer {self.client.issuer!r}; fix the SSO issuer.")
                self._metadata = document
            return self._metadata

    def authorize_url(self, attempt: Attempt, *, redirect_uri: str) -> str:
        query = {"response_type": "code", "client_id": self.client.client_id, "redirect_uri": redirect_uri,
                 "scope": self.client.scopes, "state": attempt.state, "nonce": attempt.nonce,
                 "code_challenge": create_s256_code_challenge(attempt.verifier), "code_challenge_method": "S256"}
        return f"{self.metadata()['authorization_endpoint']}?{urlencode(query)}"

    def redeem(self, code: str, attempt: Attempt, *, redirect_uri: str) -> tuple[dict[str, Any], str]:
        """(claims, raw ID token) for an authorization code of `attempt`."""
        reply = self._http.post(self.metadata()["token_endpoint"],
                                data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                      "code_verifier": attempt.verifier},
                                auth=(self.client.client_id, self.client.client_secret))
        if reply.status_code != 200:
            raise errors.Unauthenticated(f"The identity provider refused the sign-in code "
                                         f"({reply.status_code}: {_error_of(reply)}); sign in again.")
        id_token = reply.json().get("id_token")
        if not isinstance(id_token, str):
            raise errors.Unauthenticated("The identity provider answered without an ID token; is 'openid' among "
                                         "the SSO scopes?")
        claims = self._verify(id_token, attempt.nonce)
        return claims, id_token

    def logout_url(self, *, id_token: str, redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too, if the provider says."""
        endpoint = self.metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"id_token_hint": id_token, "post_logout_redirect_uri": redirect_uri,
                 "client_id": self.client.client_id}
        return f"{endpoint}?{urlencode(query)}"

    def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        issuer, client_id = self.client.issuer, self.client.client_id
        try:
            return verify_id_token(id_token, self._key_set(refresh=False), issuer=issuer, client_id=client_id,
                                   nonce=nonce)
        except BadSignature:  # perhaps a key the provider rotated in since
            return verify_id_token(id_token, self._key_set(refresh=True), issuer=issuer, client_id=client_id,
                                   nonce=nonce)

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            cached = self._keys
        if cached is not None and not refresh:
            return cached
        keys = KeySet.import_key_set(self._get(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
        with self._lock:
            self._keys = keys
        return keys

    def _get(self, url: str) -> dict[str, Any]:
        try:
            reply = self._http.get(url)
            reply.raise_for_status()
            document = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise errors.Temporary(f"The identity provider does not answer at {url} ({exc}); try again shortly.") \
                from None
        if not isinstance(document, dict):
            raise errors.Temporary(f"The identity provider's {url} is not a JSON object.")
        return document


def _error_of(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return "no details"
    return str(body.get("error_description") or body.get("error") or "no details")[:200]
