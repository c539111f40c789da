"""Single sign-on rules: groups to roles and teams, the groups claim, and the ID token checks
(signature, issuer, audience, expiry, nonce) against tokens signed here with a fresh key."""

import time
from types import SimpleNamespace

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from aerodrome import errors
from aerodrome.auth.oidc import Attempt, Client, clients_from_json, verify_id_token
from aerodrome.domain import sso
from aerodrome.domain.spec import IdentityCenter
from aerodrome.services.sso import Person, SingleSignOn

ISSUER = "https://idp.example.test"
CLIENT = "aerodrome"
ROLES = sso.parse_role_map('{"*": {"airflow-admins": "Admin", "airflow-viewers": "Viewer", "ops": "Op"},'
                           ' "prod": {"airflow-admins": "Viewer", "data-eng": "User"}}')


def test_the_strongest_mapped_group_wins_and_a_named_environment_overrides_the_default():
    assert sso.role_for(["airflow-viewers", "ops"], ROLES, "dev") == "Op"
    assert sso.role_for(["airflow-admins"], ROLES, "dev") == "Admin"
    assert sso.role_for(["airflow-admins"], ROLES, "prod") == "Viewer"
    assert sso.role_for(["data-eng"], ROLES, "prod") == "User"
    assert sso.role_for(["data-eng"], ROLES, "dev") is None
    assert sso.role_for([], ROLES, "dev") is None


def test_a_role_map_with_an_unknown_role_or_shape_is_refused_saying_why():
    with pytest.raises(ValueError, match="roles are Admin, Op, User, Viewer"):
        sso.parse_role_map('{"*": {"g": "Superuser"}}')
    with pytest.raises(ValueError, match="not JSON"):
        sso.parse_role_map("{")
    with pytest.raises(ValueError, match="must map group names"):
        sso.parse_role_map('{"*": ["g"]}')


def test_a_person_acts_on_the_control_plane_as_the_principal_of_their_first_mapped_group():
    table = sso.parse_principal_map('{"platform-admins": "admin", "platform-readers": "reader"}')
    assert sso.principal_for(["platform-readers", "platform-admins"], table) == "admin"
    assert sso.principal_for(["platform-readers"], table) == "reader"
    assert sso.principal_for(["staff"], table) is None
    with pytest.raises(ValueError, match="group -> principal"):
        sso.parse_principal_map('{"g": 1}')


def test_teams_are_the_groups_named_like_the_environment_s_teams():
    assert sso.teams_for(["team-a", "airflow-admins"], ["team-a", "team-b"]) == ["team-a"]
    assert sso.teams_for(["other"], ["team-a"]) == []


def test_groups_come_from_the_named_claim_nested_or_not_and_a_missing_claim_is_refused():
    assert sso.groups_of({"groups": ["a", "b"]}, "groups") == ["a", "b"]
    assert sso.groups_of({"groups": "a"}, "groups") == ["a"]
    assert sso.groups_of({"realm_access": {"roles": ["x"]}}, "realm_access.roles") == ["x"]
    with pytest.raises(errors.AccessDenied, match="no 'groups' claim"):
        sso.groups_of({"sub": "alice"}, "groups")
    with pytest.raises(errors.AccessDenied):
        sso.groups_of({"groups": [1, 2]}, "groups")


@pytest.fixture(scope="module")
def key():
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


def signed(key, **changes):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "alice", "iat": now, "exp": now + 300, "nonce": "n1",
              "groups": ["airflow-admins"]}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def verify(token, keys, nonce="n1"):
    return verify_id_token(token, keys, issuer=ISSUER, client_id=CLIENT, nonce=nonce)


def test_a_good_id_token_verifies(key):
    claims = verify(signed(key), KeySet([key]))
    assert claims["sub"] == "alice" and claims["groups"] == ["airflow-admins"]


@pytest.mark.parametrize(("changes", "nonce", "reason"), [
    ({"exp": int(time.time()) - 3600}, "n1", "expired"),
    ({"aud": "another-client"}, "n1", "another client"),
    ({"aud": [CLIENT, "another-client"]}, "n1", "another client"),  # several audiences and no azp
    ({"iss": "https://evil.example.test"}, "n1", "another issuer"),
    ({}, "forged-nonce", "nonce does not match"),
    ({"nonce": None}, "n1", "nonce"),
])
def test_a_bad_id_token_is_refused_saying_what_is_wrong(key, changes, nonce, reason):
    with pytest.raises(errors.Unauthenticated, match=reason):
        verify(signed(key, **changes), KeySet([key]), nonce=nonce)


def test_a_token_signed_with_another_key_or_with_the_client_secret_does_not_verify(key):
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(errors.Unauthenticated, match="does not verify"):
        verify(signed(other), KeySet([key]))
    secret = OctKey.import_key("the-client-secret-that-both-sides-know")
    forged = jwt.encode({"alg": "HS256"}, {"iss": ISSUER, "aud": CLIENT, "sub": "mallory", "nonce": "n1",
                                           "exp": int(time.time()) + 300}, secret)
    with pytest.raises(errors.Unauthenticated, match="does not verify"):
        verify(forged, KeySet([key, secret]))


class NoProvider:
    """Stands where an identity provider would; these tests end before it is asked anything."""

    def __init__(self, issuer=ISSUER, start_url=""):
        self.client = Client(issuer, CLIENT, "secret", start_url=start_url)

    def redeem(self, *args, **kwargs):
        raise AssertionError("the provider must not be asked to redeem a code")


class Environments:
    """Environments by name with an IdentityCenterConfiguration StartUrl each (or none)."""

    def __init__(self, start_urls=None):
        self._start_urls = start_urls or {}

    def target(self, name):
        if name not in self._start_urls:
            raise errors.NotFound(name)
        center = IdentityCenter(start_url=self._start_urls[name]) if self._start_urls[name] else None
        return SimpleNamespace(spec=SimpleNamespace(identity_center=center, teams={}))


def sign_on(providers=None, environments=None):
    return SingleSignOn(providers or [NoProvider()], access=environments or Environments(), role_map=ROLES,
                        groups_claim="groups", plane_url="http://localhost:8700", web_scheme="https", session_ttl=60)


def test_an_environment_s_identity_center_start_url_picks_its_provider():
    default, corp = NoProvider(), NoProvider("https://corp.example.test", start_url="https://corp.awsapps.com/start")
    service = sign_on([default, corp], Environments({"plain": None, "by-issuer": "https://corp.example.test/",
                                                     "by-start": "https://corp.awsapps.com/start",
                                                     "unknown": "https://other.awsapps.com/start"}))
    assert service.provider_for("plain") is default
    assert service.provider_for("by-issuer") is corp
    assert service.provider_for("by-start") is corp
    assert service.provider_for("unknown") is default
    person = Person("alice", ("airflow-admins",), "t", time.time() + 60, ISSUER)
    assert service.fits(person, "plain") and service.fits(person, None) and not service.fits(person, "by-start")
    with pytest.raises(errors.AccessDenied, match="another identity provider"):
        service.enter(person, "by-start", "/")


def test_more_providers_come_from_a_json_list_that_says_what_is_missing():
    clients = clients_from_json('[{"issuer": "https://a", "client_id": "c", "client_secret": "s", '
                                '"start_url": "https://a.awsapps.com/start"}]')
    assert clients[0].start_url == "https://a.awsapps.com/start" and "client_secret" not in repr(clients[0])
    with pytest.raises(ValueError, match="lacks client_secret"):
        clients_from_json('[{"issuer": "https://a", "client_id": "c"}]')


def test_a_forged_or_unknown_state_is_refused_before_the_provider_is_asked():
    service = sign_on()
    service._pending["s1"] = _pending("s1", expires_at=time.time() + 600)
    with pytest.raises(errors.Unauthenticated, match="not started in this browser"):
        service.finish(state="s1", browser_state="s2", code="c")
    with pytest.raises(errors.Unauthenticated, match="not started in this browser"):
        service.finish(state="", browser_state="", code="c")
    with pytest.raises(errors.Unauthenticated, match="unknown"):
        service.finish(state="s9", browser_state="s9", code="c")


def test_a_sign_in_that_came_back_too_late_is_refused():
    service = sign_on()
    service._pending["s1"] = _pending("s1", expires_at=time.time() - 1)
    with pytest.raises(errors.Unauthenticated, match="longer than 10 minutes"):
        service.finish(state="s1", browser_state="s1", code="c")


def test_a_sign_in_for_an_unknown_environment_is_refused():
    with pytest.raises(errors.NotFound):
        sign_on().begin("nowhere", "/")


def _pending(state, *, expires_at):
    from aerodrome.services.sso import Pending

    return Pending(Attempt(state, "n1", "v" * 64), "dev", "/", expires_at, ISSUER)
