import shutil
import tempfile
from pathlib import Path

import pytest

from aerodrome.auth.sealed import Sealer
from aerodrome.settings import Settings
from aerodrome.store.db import Store

_OWN_BASETEMP = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """A temporary folder of this run's own unless --basetemp is given: pytest's default root is shared
    by every run on the host and pruned by each, which would remove the folders (and the database
    servers' data) of runs still going."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="ad")  # short: Unix socket paths below it are capped
        config.stash[_OWN_BASETEMP] = True


# The slowest modules first (by their time with three test processes sharing two cores), so the
# test processes (pytest-xdist, whole modules each) end together: the quick unit and API modules fill
# the gaps at the end.
SLOWEST_FIRST = ("test_version_change", "test_schedules", "test_rolling_update", "test_access_airflow2",
                 "test_snapshots", "test_contents", "test_sdk_clients", "test_console", "test_version_change_down",
                 "test_idle_sleep", "test_rollback", "test_environment_lifecycle", "test_access", "test_hibernate",
                 "test_restart_draining", "test_teams", "test_autoscale", "test_restart", "test_remote_workers",
                 "test_isolation", "test_contents_tools", "test_database_dumps", "test_audit_after_kill")


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))


def pytest_sessionfinish(session, exitstatus):
    if session.config.stash.get(_OWN_BASETEMP, False) and exitstatus == 0:
        shutil.rmtree(Path(session.config.option.basetemp), ignore_errors=True)


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path / "home", serve_s3=False)


@pytest.fixture
def store(settings):
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url, sealer=Sealer(settings.store_key_file))
    store.migrate()
    yield store
    store.close()
