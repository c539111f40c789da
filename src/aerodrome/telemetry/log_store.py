"""Where CloudWatch Logs' groups, streams and events are kept: `logs.db` (SQLite, WAL), apart from the
store and the metrics. Events carry their time (ms), when they were ingested (ms) and the message;
an event's id orders events ingested together. The shipper's read positions in each log file are
kept here too, in the same transaction as the events they produced, so a restart neither loses
nor repeats lines.

Long reads (a Logs Insights query) go through a `Reader`: a read-only connection of its own that
streams rows and never holds the lock the writers and short calls share.
"""

from __future__ import annotations

import builtins
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aerodrome.telemetry.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    name TEXT PRIMARY KEY, created INTEGER NOT NULL, retention_days INTEGER, managed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS streams (
    grp TEXT NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL, first_ts INTEGER, last_ts INTEGER,
    last_ingested INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (grp, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, stream TEXT NOT NULL, ts INTEGER NOT NULL,
    ingested INTEGER NOT NULL, message TEXT NOT NULL, size INTEGER);
CREATE INDEX IF NOT EXISTS events_by_stream ON events (grp, stream, ts, id);
CREATE TABLE IF NOT EXISTS positions (
    path TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL, stream TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Group:
    name: str
    created: int
    retention_days: int | None
    stored_bytes: int
    managed: bool  # an environment's group, which Aerodrome fills


@dataclass(frozen=True)
class Stream:
    group: str
    name: str
    created: int
    first_ts: int | None
    last_ts: int | None
    last_ingested: int | None
    stored_bytes: int


@dataclass(frozen=True)
class Event:
    id: int
    stream: str
    timestamp: int
    ingested: int
    message: str


MANY_BINS = 20_000  # past this many time bins, a window's events are counted in one pass and sorted by bin


class Stopped(Exception):
    """A read was stopped (see `LogStore.reader`)."""


def now_ms() -> int:
    return int(time.time() * 1000)


class LogStore(SqliteFile):
    def __init__(self, path: Path):
        super().__init__(path, _SCHEMA)
        with self._transaction() as db:
            if "size" not in {row[1] for row in db.execute("PRAGMA table_info(events)")}:
                db.execute("ALTER TABLE events ADD COLUMN size INTEGER")  # a logs.db from before sizes were kept
            # a group's events in time: the size (the message's UTF-8 bytes) is in it too, so counting
            # and sizing a window never reads the messages
            db.execute("CREATE INDEX IF NOT EXISTS events_by_time ON events (grp, ts, id, size)")
            db.execute("DROP INDEX IF EXISTS events_by_group")

    # --- groups and streams ----------------------------------------------------------------------
    def create_group(self, name: str, *, managed: bool = False, retention_days: int | None = None) -> bool:
        """False when it exists already."""
        with self._connection() as db:
            cursor = db.execute("INSERT OR IGNORE INTO groups (name, created, managed, retention_days) "
                                "VALUES (?, ?, ?, ?)", (name, now_ms(), int(managed), retention_days))
            return cursor.rowcount == 1

    def delete_group(self, name: str) -> bool:
        with self._transaction() as db:
            gone = db.execute("DELETE FROM groups WHERE name = ?", (name,)).rowcount == 1
            db.execute("DELETE FROM streams WHERE grp = ?", (name,))
            db.execute("DELETE FROM events WHERE grp = ?", (name,))
            return gone

    def groups(self, prefix: str = "") -> list[Group]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT g.name, g.created, g.retention_days, COALESCE(SUM(s.stored_bytes), 0), g.managed "
                "FROM groups g LEFT JOIN streams s ON s.grp = g.name WHERE g.name >= ? AND g.name < ? "
                "GROUP BY g.name ORDER BY g.name", (prefix, prefix + "\U0010ffff")).fetchall()
        return [Group(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups(name) if g.name == name), None)

    def set_retention(self, name: str, days: int | None) -> bool:
        with self._connection() as db:
            return db.execute("UPDATE groups SET retention_days = ? WHERE name = ?", (days, name)).rowcount == 1

    def create_stream(self, group: str, name: str) -> bool:
        with self._connection() as db:
            cursor = db.execute("INSERT OR IGNORE INTO streams (grp, name, created) VALUES (?, ?, ?)",
                                (group, name, now_ms()))
            return cursor.rowcount == 1

    def streams(self, group: str, *, prefix: str = "", by_last_event: bool = False,
                descending: bool = False) -> list[Stream]:
        order = "COALESCE(last_ts, 0)" if by_last_event else "name"
        with self._connection() as db:
            rows = db.execute(
                "SELECT grp, name, created, first_ts, last_ts, last_ingested, stored_bytes FROM streams "
                f"WHERE grp = ? AND name >= ? AND name < ? ORDER BY {order} {'DESC' if descending else 'ASC'}",
                (group, prefix, prefix + "\U0010ffff")).fetchall()
        return [Stream(*r) for r in rows]

    # --- events ----------------------------------------------------------------------------------
    def append(self, group: str, stream: str, events: Iterable[tuple[int, str]], *,
               position: tuple[str, int, int] | None = None) -> int:
        """Add (timestamp ms, message) events to a stream (created if missing) and, with `position`
        (path, inode, offset), move the shipper's read position of that file (which feeds `stream`) in
        the same transaction."""
        ingested = now_ms()
        rows = [(group, stream, ts, ingested, message, len(message.encode())) for ts, message in events]
        with self._transaction() as db:
            if rows:
                db.execute("INSERT OR IGNORE INTO streams (grp, name, created) VALUES (?, ?, ?)",
                           (group, stream, ingested))
                db.executemany("INSERT INTO events (grp, stream, ts, ingested, message, size) "
                               "VALUES (?, ?, ?, ?, ?, ?)", rows)
                stamps = [r[2] for r in rows]
                db.execute("UPDATE streams SET first_ts = MIN(COALESCE(first_ts, ?), ?), "
                           "last_ts = MAX(COALESCE(last_ts, ?), ?), last_ingested = ?, "
                           "stored_bytes = stored_bytes + ? WHERE grp = ? AND name = ?",
                           (min(stamps), min(stamps), max(stamps), max(stamps), ingested,
                            sum(r[5] for r in rows), group, stream))
            if position is not None:
                db.execute("INSERT INTO positions VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
                           "inode = excluded.inode, offset = excluded.offset, stream = excluded.stream",
                           (*position, stream))
        return len(rows)

    def events(self, group: str, *, streams: builtins.list[str] | None = None, start: int | None = None,
               end: int | None = None, after: tuple[int, int] | None = None, before: tuple[int, int] | None = None,
               limit: int = 10_000, descending: bool = False, containing: Sequence[str] = ()) -> builtins.list[Event]:
        """Events of a group in (timestamp, id) order (or reversed), after or before a (timestamp, id)
        mark, and holding each of the `containing` texts (case-sensitive, as filter patterns are)."""
        query = "SELECT id, stream, ts, ingested, message FROM events WHERE grp = ?"
        args: builtins.list[object] = [group]
        if streams is not None:
            query += f" AND stream IN ({', '.join('?' * len(streams))})"
            args += streams
        if start is not None:
            query += " AND ts >= ?"
            args.append(start)
        if end is not None:
            query += " AND ts <= ?"
            args.append(end)
        if after is not None:
            query += " AND (ts > ? OR (ts = ? AND id > ?))"
            args += [after[0], after[0], after[1]]
        if before is not None:
            query += " AND (ts < ? OR (ts = ? AND id < ?))"
            args += [before[0], before[0], before[1]]
        for text in containing:
            query += " AND instr(message, ?) > 0"
            args.append(text)
        query += " ORDER BY ts DESC, id DESC" if descending else " ORDER BY ts, id"
        query += " LIMIT ?"
        args.append(limit)
        with self._connection() as db:
            return [Event(*r) for r in db.execute(query, args).fetchall()]

    @contextlib.contextmanager
    def reader(self, *, stop: Callable[[], bool] = lambda: False) -> Iterator[Reader]:
        """A `Reader` for the length of the block; once `stop()` is true, what it is reading ends in
        `Stopped`."""
        connection = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
        connection.set_progress_handler(lambda: 1 if stop() else 0, 100_000)
        try:
            yield Reader(connection)
        except sqlite3.OperationalError as exc:
            if stop():
                raise Stopped() from exc
            raise
        finally:
            connection.close()

    def position(self, path: str) -> tuple[int, int, str] | None:
        """(inode, offset, stream): how far the shipper read `path`, and the stream it feeds."""
        with self._connection() as db:
            row = db.execute("SELECT inode, offset, stream FROM positions WHERE path = ?", (path,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def prune(self, now: int | None = None) -> int:
        """Drop events older than their group's retention; how many went."""
        moment = now if now is not None else now_ms()
        dropped = 0
        with self._transaction() as db:
            for name, days in db.execute("SELECT name, retention_days FROM groups WHERE retention_days IS NOT NULL"
                                         ).fetchall():
                dropped += db.execute("DELETE FROM events WHERE grp = ? AND ts < ?",
                                      (name, moment - days * 86_400_000)).rowcount
        return dropped


class Reader:
    """Reads of one group's events in a time window [start, end] (ms), optionally only those whose
    message holds each of `containing` (case-sensitive), on a connection of the reader's own."""

    def __init__(self, connection: sqlite3.Connection):
        self._db = connection

    def events(self, group: str, *, start: int, end: int, containing: Sequence[str] = (),
               descending: bool = False) -> Iterator[Event]:
        """The events in time order, newest first if `descending`; events of one time come in id
        order either way. Rows are read as they are taken."""
        where, args = _window(group, start, end, containing)
        order = "ts DESC, id" if descending else "ts, id"
        for row in self._db.execute(f"SELECT id, stream, ts, ingested, message FROM events WHERE {where} "
                                    f"ORDER BY {order}", args):
            yield Event(*row)

    def counts(self, group: str, *, start: int, end: int, containing: Sequence[str] = (),
               width: int = 0) -> dict[int | None, int]:
        """How many events per bin of `width` ms (the bin's start, floored); with 0, {None: all of them}.
        Up to MANY_BINS bins, each is counted over its range of the index (no sort of the events)."""
        where, args = _window(group, start, end, containing)
        if not width:
            return {None: self._db.execute(f"SELECT COUNT(*) FROM events WHERE {where}", args).fetchone()[0]}
        first, last = start - start % width, end - end % width  # Python's % floors, as the bins do
        if (last - first) // width < MANY_BINS:
            inside = where.replace("ts >= ? AND ts <= ?", "ts >= max(bin, ?) AND ts <= min(bin + ? - 1, ?)")
            rows = self._db.execute(
                "WITH RECURSIVE bins(bin) AS (SELECT ? UNION ALL SELECT bin + ? FROM bins WHERE bin < ?) "
                f"SELECT bin, (SELECT COUNT(*) FROM events WHERE {inside}) FROM bins",
                [first, width, last, group, start, width, end, *containing]).fetchall()
        else:
            rows = self._db.execute(f"SELECT ts - ((ts % ?) + ?) % ? AS bin, COUNT(*) FROM events WHERE {where} "
                                    "GROUP BY bin", [width, width, width, *args]).fetchall()
        return {key: n for key, n in rows if n}

    def size(self, group: str, *, start: int, end: int) -> tuple[int, int]:
        """(events, bytes of their messages in UTF-8) in the window, from the index (the messages are
        read only for events stored before sizes were kept)."""
        where, args = _window(group, start, end, ())
        events, size, sized = self._db.execute(f"SELECT COUNT(*), SUM(size), COUNT(size) FROM events WHERE {where}",
                                               args).fetchone()
        if sized < events:
            size = (size or 0) + self._db.execute(f"SELECT SUM(length(CAST(message AS BLOB))) FROM events WHERE "
                                                  f"{where} AND size IS NULL", args).fetchone()[0]
        return events, size or 0


def _window(group: str, start: int, end: int, containing: Sequence[str]) -> tuple[str, builtins.list[object]]:
    where = "grp = ? AND ts >= ? AND ts <= ?" + " AND instr(message, ?) > 0" * len(containing)
    return where, [group, start, end, *containing]
