"""The log store: events in time order with marks, retention per group, positions with their stream."""

from aerodrome.telemetry.log_store import LogStore

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
