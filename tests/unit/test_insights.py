"""Logs Insights queries over events as the log store gives them."""

import json

import pytest

from aerodrome.domain.insights import QueryError, compile_query
from aerodrome.domain.insights_scan import scan_of

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


# --- what a store does for a query (scan_of) gives the same result as Python over every event --------------
TIED = [*EVENTS[:2],
        {"@timestamp": T + 1000, "@message": "[y] WARN run-42 (retry) 1.5 s", "@logStream": "scheduler-1", "@ptr": 5},
        {"@timestamp": T + 1000, "@message": "[x] INFO run-42 done", "@logStream": "worker-1", "@ptr": 6},
        *EVENTS[2:],
        {"@timestamp": T + 301_000, "@message": "[x] ERROR run-42 failed again é", "@logStream": "task", "@ptr": 7}]

QUERIES = [  # (query, what the store is asked to do)
    ("fields @timestamp, @message | filter @message like /run-42/", ("run-42",), "desc", None),
    ("filter @message like 'ERROR' | sort @timestamp asc | limit 2", ("ERROR",), "asc", None),
    ("fields @message | limit 3", (), "desc", None),
    ("sort @timestamp desc | filter @message like /\\(retry\\)/ | limit 1", ("(retry)",), "desc", None),
    ('parse @message "[*] *" as tag, rest | filter tag = "x" and @message like "run" | fields rest | limit 2',
     ("run",), "desc", None),
    ("stats count(*) as n by bin(5m)", (), "", 300_000),
    ("filter @message like /run-42/ and @message like 'INFO' | stats count(*) as n by bin(1m) as t",
     ("run-42", "INFO"), "", 60_000),
    ("stats count(*) as n, count() as m", (), "", 0),
    ("filter @message like 'nothing here' | stats count(*) as n", ("nothing here",), "", 0),
    ("stats count(*) as n by bin(5m) | sort n asc | limit 1", (), "", 300_000),
    # narrowed only: Python still decides
    ("filter @message like 'run' and level = 'ERROR' | stats count(*) as n", ("run",), "", None),
    ("filter @message like 'run-42' | dedup @logStream | fields @logStream", ("run-42",), "", None),
    ("stats count(*) by bin(100ms)", (), "", None),
    ("stats avg(ms) as mean by bin(5m)", (), "", None),
    ("filter @message like /r.n-4/ | fields @message", (), "desc", None),
    ("filter @message not like 'run' or @message like 'x' | fields @message", (), "desc", None),
    ("dedup @logStream | filter @message like 'run-42' | fields @logStream", (), "", None),
    ("sort @logStream | limit 2", (), "", None),
    ('parse @message "[*] *" as tag, @message | filter @message like "run" | fields @message', (), "desc", None),
]


def through_scan(query):
    """The result as the service gets it: the store narrows, orders or counts (emulated here over the
    events in store order; test_log_store runs the real store), then the query goes on."""
    scan = scan_of(query)
    kept = [e for e in TIED if all(text in e["@message"] for text in scan.containing)]
    if scan.count_bin is not None:
        width = scan.count_bin
        counts = {}
        for event in kept:
            key = event["@timestamp"] // width * width if width else None
            counts[key] = counts.get(key, 0) + 1
        return query.run_counted(counts)
    if scan.order:  # a stable sort: events of one time keep the store's order
        return query.run(sorted(kept, key=lambda e: e["@timestamp"], reverse=scan.order == "desc"), ordered=True)
    return query.run(kept)


@pytest.mark.parametrize("text, containing, order, count_bin", QUERIES)
def test_what_the_store_does_leaves_the_result_as_it_was(text, containing, order, count_bin):
    query = compile_query(text)
    scan = scan_of(query)
    assert (scan.containing, scan.order, scan.count_bin) == (containing, order, count_bin)
    assert through_scan(compile_query(text)) == compile_query(text).run(TIED)
    assert compile_query(text).run(TIED) or "nothing here" in text  # each case has rows to compare


def test_a_plain_regex_is_its_text_and_other_regexes_are_not():
    texts = {pattern: scan_of(compile_query(f"filter @message like /{pattern}/")).containing
             for pattern in ("run-42", "a\\.b c\\/d", "run\\d", "^run", "a|b", "(?i)run")}
    assert texts == {"run-42": ("run-42",), "a\\.b c\\/d": ("a.b c/d",), "run\\d": (), "^run": (), "a|b": (),
                     "(?i)run": ()}
