import pytest

from aerodrome.settings import Settings
from aerodrome.store.db import Store


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path / "home", serve_s3=False)


@pytest.fixture
def store(settings):
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url)
    store.migrate()
    yield store
    store.close()
