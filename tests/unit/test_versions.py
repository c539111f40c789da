import pytest

from aerodrome import errors
from aerodrome.domain import versions
from aerodrome.domain.versions import MWAA_TABLE, problem


def allowed(current, target):
    return problem(current, target, **MWAA_TABLE) is None


def test_minor_upgrades_and_downgrades_are_allowed():
    assert allowed("2.10.1", "2.10.3") is False  # from 2.10 only to the newest 2.11.x
    assert allowed("2.11.0", "2.11.2") and allowed("2.11.2", "2.11.0")
    assert allowed("3.2.1", "3.3.1") and allowed("3.3.1", "3.0.6")


def test_2_11_and_3_move_both_ways():
    assert allowed("2.11.2", "3.3.1") and allowed("3.3.1", "2.11.2") and allowed("2.11.0", "3.0.6")
    assert "2.11" in problem("3.3.1", "2.10.3", **MWAA_TABLE)


def test_2_10_and_older_go_to_the_newest_2_11_first():
    assert allowed("2.10.3", "2.11.2")
    message = problem("2.10.3", "3.3.1", **MWAA_TABLE)
    assert "first be upgraded to 2.11.2" in message
    assert "2.11.2" in problem("2.9.2", "2.11.0", **MWAA_TABLE)
    assert "2.11.2" in problem("2.7.2", "2.10.3", **MWAA_TABLE)


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
