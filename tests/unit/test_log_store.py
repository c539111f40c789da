"""The log store: events in time order with marks, retention per group, positions with their stream,
and the reads Logs Insights pushes into SQLite, which give what Python gives over every event."""

import contextlib
import sqlite3

import pytest

from aerodrome.domain import insights
from aerodrome.services.cloudwatch_logs import LogsService
from aerodrome.telemetry.log_store import MANY_BINS, LogStore, Stopped
from tests.support import wait_for
from tests.unit import test_insights

DAY = 86_400_000


def test_retention_drops_old_events_of_that_group_only(tmp_path):
    store = LogStore(tmp_path / "logs.db")
    store.create_group("kept", retention_days=1)
    store.create_group("forever")
    for group in ("kept", "forever"):
        store.append(group, "s", [(10 * DAY, "old"), (12 * DAY, "new")])
    assert store.prune(now=12 * DAY + 1) == 1
    assert [e.message for e in store.events("kept")] == ["new"]
    assert [e.message for e in store.events("forever")] == ["old", "new"]
    store.close()


def test_marks_page_forward_and_back_and_positions_keep_their_stream(tmp_path):
    store = LogStore(tmp_path / "logs.db")
    store.create_group("g")
    store.append("g", "s", [(1, "a"), (1, "b"), (2, "c")], position=("/x.log", 7, 42))
    first = store.events("g", limit=2)
    assert [e.message for e in first] == ["a", "b"]
    assert [e.message for e in store.events("g", after=(first[-1].timestamp, first[-1].id))] == ["c"]
    assert [e.message for e in store.events("g", before=(2, 10**9), descending=True, limit=1)] == ["c"]
    assert store.position("/x.log") == (7, 42, "s")
    assert store.streams("g")[0].stored_bytes == 3 and store.streams("g")[0].last_ts == 2
    store.close()


# --- the reads Logs Insights pushes into SQLite, against the same done in Python -------------------------------
def stored(tmp_path):
    """Two groups whose events share times (within a group and across the two)."""
    store = LogStore(tmp_path / "logs.db")
    for group, lines in (("a", [(5, "run-1 INFO é"), (7, "run-2 ERROR"), (7, "run-1 WARN"), (300_001, "run-1 x")]),
                         ("b", [(7, "run-1 INFO"), (-1, "run-3 early"), (299_999, "run-1 ERROR")])):
        store.create_group(group)
        store.append(group, "s", lines)
    return store


def test_a_reader_streams_events_in_time_order_with_ids_in_order_among_equal_times(tmp_path):
    store = stored(tmp_path)
    every = store.events("a")
    with store.reader() as reader:
        oldest = [e.id for e in reader.events("a", start=0, end=10**6)]
        newest = [e.id for e in reader.events("a", start=0, end=10**6, descending=True)]
        holding = [e.message for e in reader.events("a", start=0, end=299_999, containing=["run-1", "WARN"])]
    assert oldest == [e.id for e in every]
    assert newest == [e.id for e in sorted(every, key=lambda e: -e.timestamp)]  # stable: ids ascending
    assert newest[1:3] == sorted(newest[1:3]) and holding == ["run-1 WARN"]
    store.close()


def test_a_reader_counts_per_floored_bin_and_sizes_in_utf8_bytes(tmp_path):
    store = stored(tmp_path)
    with store.reader() as reader:
        assert reader.counts("b", start=-10, end=10**6, width=300_000) == {-300_000: 1, 0: 2}
        many = reader.counts("a", start=0, end=10**6, width=3)  # more bins than MANY_BINS: one pass and a sort
        assert MANY_BINS < 10**6 // 3 and many == {3: 1, 6: 2, 300_000: 1}
        assert reader.counts("a", start=6, end=10**6, width=3) == {6: 2, 300_000: 1}
        assert reader.counts("a", start=6, end=300_000, width=300_000) == {0: 2}  # a bin begins before the window
        assert reader.counts("a", start=0, end=10**6, width=0, containing=["run-1"]) == {None: 3}
        assert reader.counts("a", start=6, end=7) == {None: 2}
        assert reader.size("a", start=0, end=10**6) == (4, sum(len(e.message.encode()) for e in store.events("a")))
        assert reader.size("a", start=8, end=9) == (0, 0)
    store.close()


def test_a_stopped_read_ends(tmp_path):
    store = LogStore(tmp_path / "logs.db")
    store.create_group("g")
    store.append("g", "s", [(i, f"line {i}") for i in range(20_000)])
    with pytest.raises(Stopped), store.reader(stop=lambda: True) as reader:
        list(reader.events("g", start=0, end=10**6, containing=["line"]))
    store.close()


@pytest.mark.parametrize("text", [case[0] for case in test_insights.QUERIES])
def test_insights_through_the_store_gives_what_python_gives_over_every_event(tmp_path, text):
    store = stored(tmp_path)
    service = LogsService(store, region="us-east-1", account="0")
    try:
        query_id = service.start_query({"logGroupNames": ["a", "b"], "startTime": -1, "endTime": 1000,
                                        "queryString": text})["queryId"]
        wait_for(lambda: service.get_query_results({"queryId": query_id})["status"] != "Running", timeout=10,
                 interval=0.01, what="the query")
        got = service.get_query_results({"queryId": query_id})
        every = [{"@timestamp": e.timestamp, "@message": e.message, "@logStream": e.stream, "@log": f"0:{group}",
                  "@ingestionTime": e.ingested, "@ptr": f"{group}/{e.id}"}
                 for group in ("a", "b") for e in store.events(group)]
        assert got["status"] == "Complete"
        assert got["results"] == insights.compile_query(text).run(every)
        assert got["statistics"]["recordsScanned"] == 7
        assert got["statistics"]["bytesScanned"] == sum(len(e["@message"].encode()) for e in every)
    finally:
        service.close()
        store.close()


def test_a_store_from_before_sizes_were_kept_is_upgraded_and_sized_from_its_messages(tmp_path):
    with contextlib.closing(sqlite3.connect(tmp_path / "logs.db")) as old:
        old.executescript(
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, stream TEXT NOT NULL, "
            "ts INTEGER NOT NULL, ingested INTEGER NOT NULL, message TEXT NOT NULL);"
            "CREATE INDEX events_by_group ON events (grp, ts, id);"
            "INSERT INTO events (grp, stream, ts, ingested, message) VALUES ('g', 's', 1, 1, 'été');")
    store = LogStore(tmp_path / "logs.db")
    store.append("g", "s", [(2, "new")])
    with store.reader() as reader:
        assert reader.size("g", start=0, end=9) == (2, len("été".encode()) + 3)
    assert [e.message for e in store.events("g")] == ["été", "new"]
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "logs.db")) as upgraded:
        indexes = {row[1] for row in upgraded.execute("PRAGMA index_list(events)")}
        plan = upgraded.execute("EXPLAIN QUERY PLAN SELECT ts, COUNT(*), SUM(size) FROM events WHERE grp = 'g' "
                                "AND ts >= 0 GROUP BY ts").fetchall()
    assert "events_by_time" in indexes and "events_by_group" not in indexes
    assert "COVERING INDEX events_by_time" in plan[0][3]
