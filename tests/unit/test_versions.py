import pytest

from aerodrome import errors
from aerodrome.domain import versions
from aerodrome.domain.spec import SUPPORTED_AIRFLOW_VERSIONS
from aerodrome.domain.versions import MWAA_TABLE, problem
from aerodrome.runtimes.local import venvs


def allowed(current, target):
    return problem(current, target, **MWAA_TABLE) is None


def test_minor_upgrades_and_downgrades_are_allowed():
    assert allowed("2.10.1", "2.10.3") and allowed("2.10.3", "2.9.2") and allowed("2.9.2", "2.11.0")
    assert allowed("2.11.0", "2.11.2") and allowed("2.11.2", "2.11.0")
    assert allowed("3.2.1", "3.3.1") and allowed("3.3.1", "3.0.6")


def test_2_11_and_3_move_both_ways():
    assert allowed("2.11.2", "3.3.1") and allowed("3.3.1", "2.11.2") and allowed("2.11.0", "3.0.6")
    assert "2.11" in problem("3.3.1", "2.10.3", **MWAA_TABLE)


def test_2_10_and_older_go_to_the_newest_2_11_first():
    assert allowed("2.10.3", "2.11.2")
    message = problem("2.10.3", "3.3.1", **MWAA_TABLE)
    assert "first be upgraded to 2.11.2" in message
    assert "first be upgraded to 2.11.2" in problem("2.9.2", "3.0.6", **MWAA_TABLE)


def test_end_of_support_and_1_x_are_refused():
    assert "cannot be targeted" in problem("2.7.2", "2.6.3", **MWAA_TABLE)
    assert "create a new environment" in problem("1.10.12", "2.11.2", **MWAA_TABLE)


def test_the_runnable_table_today():
    assert allowed_here("2.11.2", "3.3.2") and allowed_here("3.3.2", "2.11.2")
    assert versions.check("3.3.2", "3.3.2") is None
    assert versions.check("2.11.2", "3.3.2").upgrade
    assert not versions.check("3.3.2", "2.11.2").upgrade
    with pytest.raises(errors.Invalid, match="first be upgraded to 2.11.2"):
        versions.check("2.10.3", "3.3.2")
    assert versions.check("2.10.3", "2.11.2").upgrade
    with pytest.raises(errors.Invalid, match="not a version number"):
        versions.check("three", "3.3.2")


def allowed_here(current, target):
    return problem(current, target) is None


def test_every_version_mwaa_offers_runs_here_with_its_rules():
    for version in ("2.9.2", "2.10.1", "2.10.3", "2.11.0", "3.0.6", "3.2.1", "3.3.1", "3.3.2", "2.11.2"):
        assert version in SUPPORTED_AIRFLOW_VERSIONS
    assert versions.check("3.0.6", "3.3.2").upgrade and not versions.check("3.3.2", "3.2.1").upgrade
    assert versions.check("2.9.2", "2.11.2").upgrade
    with pytest.raises(errors.Invalid, match="first be upgraded to 2.11.2"):
        versions.check("2.9.2", "3.0.6")
    assert not versions.check("2.10.3", "2.10.1").upgrade
    with pytest.raises(errors.Invalid, match="3.x moves only to and from 2.11"):
        versions.check("3.3.1", "2.10.3")


def test_older_versions_resolve_packages_as_of_their_release():
    assert venvs.resolution("3.3.2") == [] and venvs.resolution("2.11.2") == []  # the newest of each line
    assert venvs.resolution("2.9.2") == ["--exclude-newer", "2024-06-13T00:00:00Z"]
    later = "=2026-09-20T00:00:00Z"  # the newest 3.x's cutoff, for the Celery provider and what it needs
    assert venvs.resolution("3.3.1") == ["--exclude-newer", "2026-08-15T00:00:00Z",
                                         "--exclude-newer-package", "apache-airflow-providers-celery" + later,
                                         "--exclude-newer-package", "apache-airflow-providers-common-compat" + later]
    assert venvs.resolution("3.0.6") == ["--exclude-newer", "2025-09-01T00:00:00Z"]
    assert any(p.startswith("apache-airflow-providers-celery>=") for p in venvs.packages("3.2.1"))
    assert not any(p.startswith("apache-airflow-providers-celery") for p in venvs.packages("2.9.2"))
    assert not any(p.startswith("apache-airflow-providers-celery") for p in venvs.packages("3.0.6"))
