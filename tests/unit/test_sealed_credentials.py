"""Access keys' secrets are sealed at rest: the store file holds none in the clear, an older store's
clear secrets are sealed on migrate, and another key opens none of them."""

import sqlite3

import pytest

from aerodrome import errors
from aerodrome.auth.sealed import Sealer
from aerodrome.services.credentials import CredentialService
from aerodrome.services.principals import PrincipalService
from aerodrome.store.db import Store


def stored_secrets(settings):
    with sqlite3.connect(settings.home / "aerodrome.db") as db:
        return [row[0] for row in db.execute("SELECT secret_access_key FROM credentials")]


def test_secrets_are_sealed_in_the_store_file(store, settings):
    admin_key, admin_secret = CredentialService(store=store).admin()
    principals = PrincipalService(store=store, region="us-east-1", account="000000000000")
    _, other_secret = principals.create("team-a")
    kept = stored_secrets(settings)
    assert len(kept) == 2
    assert not any(secret in value for value in kept for secret in (admin_secret, other_secret))
    assert CredentialService(store=store).secret_for(admin_key) == admin_secret  # and they still verify


def test_clear_secrets_of_an_older_store_are_sealed_on_migrate(store, settings):
    key, secret = CredentialService(store=store).admin()
    with sqlite3.connect(settings.home / "aerodrome.db") as db:  # as an older version kept it
        db.execute("UPDATE credentials SET secret_access_key = ?", (secret,))
    store.migrate()
    assert secret not in stored_secrets(settings)[0]
    assert CredentialService(store=store).secret_for(key) == secret


def test_another_key_opens_nothing(store, settings, tmp_path):
    key, _ = CredentialService(store=store).admin()
    other = Store(settings.store_url, sealer=Sealer(tmp_path / "other.key"))
    try:
        with pytest.raises(errors.Invalid, match="another control plane's key"):
            CredentialService(store=other).secret_for(key)
    finally:
        other.close()
