"""Logs Insights queries over events as the log store gives them."""

import json

import pytest

from aerodrome.domain.insights import QueryError, compile_query

T = 1_796_205_600_000  # 2026-12-02 10:00:00 UTC
EVENTS = [
    {"@timestamp": T, "@message": "[x] INFO scheduling run-42", "@logStream": "scheduler-1", "@ptr": 1},
    {"@timestamp": T + 1000, "@message": json.dumps({"level": "INFO", "ms": 120, "run": "run-42",
                                                     "ti": {"task": "load"}}), "@logStream": "task", "@ptr": 2},
    {"@timestamp": T + 2000, "@message": json.dumps({"level": "ERROR", "ms": 900, "run": "run-42",
                                                     "ti": {"task": "load"}}), "@logStream": "task", "@ptr": 3},
    {"@timestamp": T + 301_000, "@message": "[x] ERROR run-7 failed", "@logStream": "worker-1", "@ptr": 4},
]


def rows(query):
    return [{c["field"]: c["value"] for c in row if c["field"] != "@ptr"} for row in compile_query(query).run(EVENTS)]


def test_following_one_run_across_streams_newest_first_by_default():
    found = rows("fields @timestamp, @logStream, @message | filter @message like /run-42/")
    assert [r["@logStream"] for r in found] == ["task", "task", "scheduler-1"]
    assert found[-1]["@timestamp"] == "2026-12-02 10:00:00.000"


def test_json_fields_comparisons_sort_and_limit():
    found = rows('filter level = "ERROR" or ms < 200 | fields ti.task, ms | sort ms desc | limit 1')
    assert found == [{"ti.task": "load", "ms": "900"}]
    assert rows('filter level in ["WARN", "ERROR"] and not ms > 1000 | fields ms') == [{"ms": "900"}]
    assert rows('filter @logStream not like "task" | fields @logStream | sort @logStream asc') == [
        {"@logStream": "scheduler-1"}, {"@logStream": "worker-1"}]


def test_parse_with_a_glob_and_a_regex():
    found = rows('parse @message "[*] * *" as tag, level, rest | filter tag = "x" | fields level | sort level')
    assert found == [{"level": "ERROR"}, {"level": "INFO"}]
    assert rows("parse @message /(?<run>run-\\d+) failed/ | filter ispresent = 1 or run = 'run-7' | fields run") == [
        {"run": "run-7"}]


def test_stats_by_fields_and_bins():
    assert rows("filter ms > 0 | stats count(*) as n, avg(ms) as mean, max(ms) by level | sort level") == [
        {"level": "ERROR", "n": "1", "mean": "900", "max(ms)": "900"},
        {"level": "INFO", "n": "1", "mean": "120", "max(ms)": "120"}]
    by_bin = rows("stats count(*) as n by bin(5m) as t")
    assert by_bin == [{"t": "2026-12-02 10:05:00.000", "n": "1"}, {"t": "2026-12-02 10:00:00.000", "n": "3"}]
    assert rows("filter ms > 0 | stats count_distinct(level) as levels, sum(ms) as total") == [
        {"levels": "2", "total": "1020"}]
    assert rows("dedup @logStream | fields @logStream") == [
        {"@logStream": "worker-1"}, {"@logStream": "task"}, {"@logStream": "scheduler-1"}]


@pytest.mark.parametrize("query, words", [
    ("fields", "field names"), ("filter", "needs a condition"), ("stats count(*) by bin(5x)", "bin takes"),
    ("stats median(ms)", "Unknown statistic"), ("frobnicate x", "Unknown command"), ("filter a = 'x", "not closed"),
    ("limit ten", "one number"), ('parse @message "* *" as one', "2 '\\*' but 1"), ("filter (a = 1", "ends too early"),
    ("filter a ~ 1", "Cannot read"), ("fields @message | sort", "sort takes"),
])
def test_malformed_queries_say_what(query, words):
    with pytest.raises(QueryError, match=words):
        compile_query(query)
