"""End-to-end fixtures: one PostgreSQL server per session (every Airflow version's template database is
migrated once), one control plane per session for the tests that need no settings of their own, and
an environment clean-up after each test so the next one starts on a quiet host."""

import logging

import pytest

from tests.support import clients_of, delete_environments, running_plane

# What the shared control plane sets beyond the defaults (the contents tests check these limits).
# Idle sleep is opt-in per environment (a tag), so only test_idle_sleep's environment feels the short
# intervals: looked at every second, woken 10 s before a run, asleep deeply after 30 s with no run due.
SHARED_SETTINGS = {"plugins_max_bytes": 4 << 20, "startup_script_timeout": 6.0,
                   "idle_sleep_interval": 1.0, "idle_sleep_wake_lead": 10.0, "idle_sleep_deep_minutes": 0.5}


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    from tests.support import database_server

    with database_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture(scope="session")
def plane_factory(postgres_url, tmp_path_factory):
    """`plane_factory(**settings)`: a context manager for a control plane of its own (its own home,
    store and Redis; the session's PostgreSQL server)."""

    def factory(**overrides):
        home = tmp_path_factory.mktemp("plane") / "home"
        return running_plane(home, postgres_url=postgres_url, **overrides)

    return factory


class Captured(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture(scope="session")
def plane_log_lines():
    """Every line logged (INFO and up) from the start of the session's control plane on."""
    handler = Captured()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture(scope="session")
def idp_port():
    from tests.support import free_port

    return free_port()


@pytest.fixture(scope="session")
def shared_plane(plane_factory, plane_log_lines, idp_port):
    """Signs people in through the session's identity provider (`idp`), started once asked for."""
    from tests import identity_provider

    with plane_factory(**SHARED_SETTINGS, **identity_provider.plane_settings(idp_port)) as control_plane:
        yield control_plane


@pytest.fixture(scope="session")
def idp(shared_plane, idp_port):
    """The OpenID Connect provider the shared plane's single sign-on uses; its issuer URL."""
    from tests import identity_provider

    with identity_provider.running_provider(idp_port, shared_plane.settings.endpoint_url) as issuer:
        yield issuer


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def show_restarts_if_failed(request, home):
    """After a failed test, the tail of every component log of the plane's environments that shows a
    restart (an environment's folder is deleted with it, and with it the reason)."""
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    for log_file in sorted(home.glob("environments/*/logs/*.log")):
        lines = log_file.read_text(errors="replace").splitlines()
        if sum(line.startswith("=== starting ") for line in lines) > 1:
            print(f"\n--- {log_file.relative_to(home)} (restarted), last 40 lines ---")
            print("\n".join(lines[-40:]))


@pytest.fixture(autouse=True)
def restarts_shown(request):
    """For tests on a module's environments (the `plane` fixture shows its own before deleting them)."""
    yield
    if "shared_plane" in request.fixturenames and "plane" not in request.fixturenames:
        show_restarts_if_failed(request, request.getfixturevalue("shared_plane").settings.home)


@pytest.fixture
def plane(shared_plane, request):
    """The session's control plane; environments a test creates are deleted after it."""
    mwaa, _ = clients_of(shared_plane)
    before = set(mwaa.list_environments()["Environments"])
    yield shared_plane
    show_restarts_if_failed(request, shared_plane.settings.home)
    delete_environments(mwaa, set(mwaa.list_environments()["Environments"]) - before)


@pytest.fixture
def clients(plane):
    return clients_of(plane)



@pytest.fixture(scope="session")
def env_vars(shared_plane):
    """What `aerodrome client-env` exports for the session's control plane, on top of a clean environment."""
    import os

    from aerodrome.cli.client_env import client_env_vars

    values = client_env_vars(shared_plane.settings, with_s3=True)
    assert values["REQUESTS_CA_BUNDLE"].endswith("bundle.pem")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")}
    return {**keep, **values}


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser(shared_plane, tmp_path_factory):
    """Headless Chromium whose certificate store trusts the session plane's CA (nothing is ignored)."""
    import os
    import shutil
    import subprocess

    from playwright.sync_api import sync_playwright

    missing = [tool for tool in (CHROMIUM, "certutil") if shutil.which(tool) is None]
    assert not missing, f"the browser tests need {' and '.join(missing)}: apt-get install chromium libnss3-tools"
    home = tmp_path_factory.mktemp("chromium-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "aerodrome-ca", "-i",
                    str(shared_plane.settings.tls_dir / "ca.pem")], check=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                              env={"HOME": str(home), "PATH": os.environ["PATH"]})
        try:
            yield launched
        finally:
            launched.close()
