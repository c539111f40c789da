"""Secrets and policies kept in memory are dropped the moment a key, principal or policy changes."""

import json

import pytest

from aerodrome import errors
from aerodrome.services.credentials import CredentialService
from aerodrome.services.principals import PrincipalService
from aerodrome.store import credentials as stored_credentials

ALLOW_LIST = json.dumps({"Statement": [{"Effect": "Allow", "Action": "airflow:ListEnvironments", "Resource": "*"}]})


def test_a_deleted_principal_is_refused_at_once(store):
    keys = CredentialService(store=store)
    principals = PrincipalService(store=store, region="us-east-1", account="000000000000")
    key, secret = principals.create("ci")
    with pytest.raises(errors.AccessDenied):
        principals.authorize(key, "airflow:ListEnvironments", "*")  # the decision is kept, until...
    principals.attach("ci", "list", ALLOW_LIST)
    assert keys.secret_for(key) == secret
    assert keys.cached_secret(key) == secret  # kept
    assert principals.authorize(key, "airflow:ListEnvironments", "*") == "ci"

    principals.detach("ci", "list")
    with pytest.raises(errors.AccessDenied):
        principals.authorize(key, "airflow:ListEnvironments", "*")
    principals.delete("ci")
    assert keys.cached_secret(key) is None
    assert keys.secret_for(key) is None
    with pytest.raises(errors.AccessDenied):
        principals.authorize(key, "airflow:ListEnvironments", "*")


def test_temporary_credentials_need_their_token_and_expire_though_kept(store):
    now = [1000.0]
    keys = CredentialService(store=store, clock=lambda: now[0])
    with store.session() as session:
        key, secret, token = stored_credentials.issue_session("admin", store.sealer, role_session=None,
                                                              expires_at=2000.0, session=session)
    assert keys.secret_for(key, token) == secret
    assert keys.cached_secret(key, token) == secret
    assert keys.cached_secret(key, "another token") is None
    assert keys.secret_for(key) is None
    now[0] = 2000.0
    with pytest.raises(errors.Unauthenticated, match="expired"):
        keys.cached_secret(key, token)


def test_audit_rows_are_written_for_decisions(store):
    principals = PrincipalService(store=store, region="us-east-1", account="000000000000")
    principals.ensure_admin()
    key = CredentialService(store=store).admin()[0]
    principals.authorize(key, "airflow:ListEnvironments", "*")
    principals.authorize(key, "airflow:ListEnvironments", "*")
    rows = [r for r in principals.audit() if r["action"] == "airflow:ListEnvironments"]
    assert [r["outcome"] for r in rows] == ["allowed", "allowed"]


def test_memory_only_refuses_a_store_read_and_environments_are_read_again_after_a_change(store, settings):
    from aerodrome.runtimes.local.placement import HostPlacements
    from aerodrome.services.environments import EnvironmentService
    from aerodrome.store.db import WouldBlock, memory_only
    from tests.support import add

    service = EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings),
                                 wake=lambda _: None)
    assert service.list_names(max_results=10, next_token=None) == ([], None)
    with memory_only():
        assert service.list_names(max_results=10, next_token=None) == ([], None)  # in memory
    add(store, "dev")
    with memory_only(), pytest.raises(WouldBlock):
        service.list_names(max_results=10, next_token=None)  # changed: a read is needed
    assert service.list_names(max_results=10, next_token=None) == (["dev"], None)
