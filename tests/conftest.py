import shutil
import tempfile
from pathlib import Path

import pytest

from aerodrome.settings import Settings
from aerodrome.store.db import Store

_OWN_BASETEMP = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """A temporary folder of this run's own unless --basetemp is given: pytest's default root is shared
    by every run on the host and pruned by each, which would remove the folders (and the database
    servers' data) of runs still going."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="aerodrome-tests-")
        config.stash[_OWN_BASETEMP] = True


def pytest_sessionfinish(session, exitstatus):
    if session.config.stash.get(_OWN_BASETEMP, False) and exitstatus == 0:
        shutil.rmtree(Path(session.config.option.basetemp), ignore_errors=True)


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
