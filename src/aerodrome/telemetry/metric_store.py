"""Where metrics are kept: a SQLite file of its own (`metrics.db`, WAL), apart from the control plane's
store, so writes of datapoints never wait on environment transactions.

A series is CloudWatch's metric identity: namespace, metric name and the exact set of dimensions.
Datapoints are kept as statistic sets (sum, count, min, max) per bucket: 60 s for standard
resolution, 1 s for high resolution (StorageResolution=1). Buckets older than the retention
(15 days by default) are dropped by `prune`; the control plane runs it hourly. Percentiles would need
the raw values, which are not kept.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aerodrome.telemetry.sqlite_file import SqliteFile

Dimensions = tuple[tuple[str, str], ...]  # sorted (name, value) pairs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, dimensions TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT 'None', last_seen INTEGER NOT NULL,
    UNIQUE (namespace, name, dimensions));
CREATE TABLE IF NOT EXISTS points (
    series INTEGER NOT NULL, ts INTEGER NOT NULL, sum REAL NOT NULL, count REAL NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (series, ts)) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Series:
    id: int
    namespace: str
    name: str
    dimensions: Dimensions
    unit: str


@dataclass(frozen=True)
class Datapoint:
    """One statistic set for a series at `timestamp` (seconds); a single value is count 1."""

    namespace: str
    name: str
    dimensions: Dimensions
    timestamp: float
    sum: float
    count: float
    min: float
    max: float
    unit: str = "None"
    resolution: int = 60


@dataclass(frozen=True)
class Bucket:
    """Aggregated datapoints of one period starting at `start`."""

    start: int
    sum: float
    count: float
    min: float
    max: float

    @property
    def average(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def statistic(self, name: str) -> float:
        return {"Sum": self.sum, "SampleCount": self.count, "Minimum": self.min, "Maximum": self.max,
                "Average": self.average}[name]


def dimensions_of(pairs: Iterable[tuple[str, str]]) -> Dimensions:
    return tuple(sorted(pairs))


class MetricStore(SqliteFile):
    def __init__(self, path: Path, *, retention_days: float = 15):
        super().__init__(path, _SCHEMA)
        self.retention = retention_days * 86400

    def put(self, datapoints: Iterable[Datapoint]) -> int:
        """Add datapoints (merged into their buckets); how many were written."""
        written = 0
        now = int(time.time())
        with self._transaction() as db:
            ids: dict[tuple[str, str, Dimensions], int] = {}
            for point in datapoints:
                key = (point.namespace, point.name, point.dimensions)
                if key not in ids:
                    ids[key] = self._series_id(db, point, now)
                step = 1 if point.resolution == 1 else 60
                db.execute(
                    "INSERT INTO points VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (series, ts) DO UPDATE SET "
                    "sum = sum + excluded.sum, count = count + excluded.count, "
                    "min = MIN(min, excluded.min), max = MAX(max, excluded.max)",
                    (ids[key], int(point.timestamp) // step * step, point.sum, point.count, point.min, point.max))
                written += 1
        return written

    @staticmethod
    def _series_id(db: sqlite3.Connection, point: Datapoint, now: int) -> int:
        dims = json.dumps(point.dimensions)
        row = db.execute("INSERT INTO series (namespace, name, dimensions, unit, last_seen) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (namespace, name, dimensions) DO UPDATE SET last_seen = excluded.last_seen, "
                         "unit = CASE WHEN excluded.unit = 'None' THEN unit ELSE excluded.unit END RETURNING id",
                         (point.namespace, point.name, dims, point.unit, now)).fetchone()
        return int(row[0])

    def find(self, namespace: str, name: str, dimensions: Dimensions) -> Series | None:
        with self._connection() as db:
            row = db.execute("SELECT id, unit FROM series WHERE namespace = ? AND name = ? AND dimensions = ?",
                             (namespace, name, json.dumps(dimensions))).fetchone()
        return Series(row[0], namespace, name, dimensions, row[1]) if row else None

    def buckets(self, series: Series, start: float, end: float, period: int) -> list[Bucket]:
        """The series' datapoints in [start, end) aggregated per `period` seconds, aligned on `start`."""
        first = int(start)
        with self._connection() as db:
            rows = db.execute(
                "SELECT (ts - ?) / ? AS slot, SUM(sum), SUM(count), MIN(min), MAX(max) FROM points "
                "WHERE series = ? AND ts >= ? AND ts < ? GROUP BY slot ORDER BY slot",
                (first, period, series.id, first, int(end))).fetchall()
        return [Bucket(first + slot * period, total, count, low, high) for slot, total, count, low, high in rows]

    def list(self, *, namespace: str | None = None, name: str | None = None,
             dimensions: Iterable[tuple[str, str | None]] = (), active_since: float | None = None) -> list[Series]:
        """Series matching the filters, ordered; a dimension filter with value None matches any value."""
        query = "SELECT id, namespace, name, dimensions, unit FROM series WHERE 1 = 1"
        args: list[object] = []
        for column, value in (("namespace = ?", namespace), ("name = ?", name), ("last_seen >= ?", active_since)):
            if value is not None:
                query += f" AND {column}"
                args.append(int(value) if isinstance(value, float) else value)
        wanted = list(dimensions)
        found = []
        with self._connection() as db:
            for row in db.execute(query + " ORDER BY namespace, name, dimensions", args):
                dims: Dimensions = tuple((k, v) for k, v in json.loads(row[3]))
                present = dict(dims)
                if all(k in present and (v is None or present[k] == v) for k, v in wanted):
                    found.append(Series(row[0], row[1], row[2], dims, row[4]))
        return found

    def latest(self, since: float) -> builtins.list[tuple[Series, Bucket]]:
        """Each series' newest bucket, for the series that have one since `since`."""
        with self._connection() as db:
            rows = db.execute(
                "SELECT s.id, s.namespace, s.name, s.dimensions, s.unit, p.ts, p.sum, p.count, p.min, p.max "
                "FROM series s JOIN points p ON p.series = s.id AND p.ts = "
                "(SELECT MAX(ts) FROM points WHERE series = s.id) WHERE p.ts >= ? ORDER BY s.namespace, s.name",
                (int(since),)).fetchall()
        return [(Series(r[0], r[1], r[2], tuple((k, v) for k, v in json.loads(r[3])), r[4]),
                 Bucket(r[5], r[6], r[7], r[8], r[9])) for r in rows]

    def prune(self, now: float | None = None) -> int:
        """Drop datapoints past the retention and series left without any; how many datapoints went."""
        cutoff = int((now if now is not None else time.time()) - self.retention)
        with self._connection() as db:
            dropped = db.execute("DELETE FROM points WHERE ts < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM series WHERE last_seen < ? AND id NOT IN (SELECT DISTINCT series FROM points)",
                       (cutoff,))
        return int(dropped)
