"""Metric math as GetMetricData evaluates it."""

import pytest

from aerodrome.domain.metric_math import ExpressionError, evaluate

M1 = {0: 1.0, 60: 2.0, 120: 3.0}
M2 = {0: 10.0, 60: 20.0}


def test_arithmetic_is_point_by_point_on_shared_timestamps_with_precedence():
    assert evaluate("m1 + m2 * 2", {"m1": M1, "m2": M2}) == {0: 21.0, 60: 42.0}
    assert evaluate("(m1 + 1) * 2 - -1", {"m1": M1}) == {0: 5.0, 60: 7.0, 120: 9.0}
    assert evaluate("m2 / m1", {"m1": M1, "m2": M2}) == {0: 10.0, 60: 10.0}


def test_division_by_zero_leaves_the_point_out():
    assert evaluate("m1 / m2", {"m1": {0: 1.0, 60: 1.0}, "m2": {0: 0.0, 60: 2.0}}) == {60: 0.5}


def test_aggregates_over_arrays_give_series_and_over_one_series_a_flat_line():
    series = {"m1": M1, "m2": M2}
    assert evaluate("SUM([m1, m2])", series) == {0: 11.0, 60: 22.0, 120: 3.0}
    assert evaluate("MAX(METRICS())", series) == {0: 10.0, 60: 20.0, 120: 3.0}
    assert evaluate("AVG(m1)", series) == {0: 2.0, 60: 2.0, 120: 2.0}
    assert evaluate('MIN(METRICS("2"))', series) == M2


def test_metrics_stands_for_metric_queries_only():
    series = {"m1": M1, "e1": {0: 100.0}}
    assert evaluate("SUM(METRICS())", series, metrics={"m1"}) == M1


@pytest.mark.parametrize("expression, words", [
    ("m1 +", "ends too early"), ("m3", "Unrecognized id 'm3'"), ("FOO(m1)", "Unknown function FOO"),
    ("m1 )", "Unexpected ')'"), ("[m1, m1]", "several time series"), ("[m1] + 1", "aggregate first"),
    ("SUM([m1, 2])", "time series only"), ("1 / 0", "Division by zero"), ("METRICS(m1)", "quoted string"),
])
def test_bad_expressions_say_what_and_where(expression, words):
    with pytest.raises(ExpressionError, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        evaluate(expression, {"m1": M1})
