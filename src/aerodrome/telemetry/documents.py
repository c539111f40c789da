"""CloudWatch's stored documents beside the datapoints, in the same `metrics.db`: dashboards (their
bodies kept byte for byte), metric alarms (definition, state) and the alarms' history."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from aerodrome.telemetry.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dashboards (
    name TEXT PRIMARY KEY, body TEXT NOT NULL, modified REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alarms (
    name TEXT PRIMARY KEY, definition TEXT NOT NULL, configured REAL NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL, reason_data TEXT, state_updated REAL NOT NULL,
    state_transitioned REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_history (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL, summary TEXT NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alarm_history_by_name ON alarm_history (name, at);
"""
HISTORY_DAYS = 14  # CloudWatch keeps alarm history two weeks


class Documents(SqliteFile):
    def __init__(self, path: Path):
        super().__init__(path, _SCHEMA)

    # --- dashboards --------------------------------------------------------------------------
    def put_dashboard(self, name: str, body: str) -> None:
        with self._connection() as db:
            db.execute("INSERT INTO dashboards VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET body = excluded.body, "
                       "modified = excluded.modified", (name, body, time.time()))

    def dashboard(self, name: str) -> tuple[str, float] | None:
        with self._connection() as db:
            row = db.execute("SELECT body, modified FROM dashboards WHERE name = ?", (name,)).fetchone()
        return (row[0], row[1]) if row else None

    def dashboards(self, prefix: str = "") -> list[tuple[str, int, float]]:
        """(name, size in bytes, modified) of the dashboards whose name starts with `prefix`, by name."""
        with self._connection() as db:
            rows = db.execute("SELECT name, body, modified FROM dashboards ORDER BY name").fetchall()
        return [(n, len(b.encode()), m) for n, b, m in rows if n.startswith(prefix)]

    def delete_dashboards(self, names: list[str]) -> list[str]:
        """Delete them all, or none: the names that do not exist (nothing deleted when there are any)."""
        with self._connection() as db:
            known = {r[0] for r in db.execute("SELECT name FROM dashboards")}
            unknown = [n for n in names if n not in known]
            if not unknown:
                db.executemany("DELETE FROM dashboards WHERE name = ?", [(n,) for n in names])
        return unknown

    # --- alarms ------------------------------------------------------------------------------
    def put_alarm(self, name: str, definition: dict) -> bool:
        """Create or reconfigure; a new alarm starts in INSUFFICIENT_DATA. True when it is new."""
        now = time.time()
        with self._connection() as db:
            new = db.execute("SELECT 1 FROM alarms WHERE name = ?", (name,)).fetchone() is None
            if new:
                db.execute("INSERT INTO alarms VALUES (?, ?, ?, 'INSUFFICIENT_DATA', 'Unchecked: Initial alarm "
                           "creation', NULL, ?, ?)", (name, json.dumps(definition), now, now, now))
            else:
                db.execute("UPDATE alarms SET definition = ?, configured = ? WHERE name = ?",
                           (json.dumps(definition), now, name))
            self._history(db, name, now, "ConfigurationUpdate",
                          f"Alarm \"{name}\" {'created' if new else 'updated'}", {"type": "Update",
                                                                                  "updatedAlarm": definition})
        return new

    def alarms(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        with self._connection() as db:
            rows = db.execute("SELECT name, definition, configured, state, reason, reason_data, state_updated, "
                              "state_transitioned FROM alarms ORDER BY name").fetchall()
        found = []
        for name, definition, configured, state, reason, data, updated, transitioned in rows:
            if names is not None and name not in names:
                continue
            found.append({"name": name, "definition": json.loads(definition), "configured": configured,
                          "state": state, "reason": reason, "reason_data": data, "state_updated": updated,
                          "state_transitioned": transitioned})
        return found

    def set_state(self, name: str, state: str, reason: str, reason_data: str | None = None) -> str | None:
        """Record the alarm's state; the previous state, or None when the alarm is gone."""
        now = time.time()
        with self._connection() as db:
            row = db.execute("SELECT state FROM alarms WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            previous = str(row[0])
            moved = previous != state
            db.execute("UPDATE alarms SET state = ?, reason = ?, reason_data = ?, state_updated = ?, "
                       "state_transitioned = CASE WHEN ? THEN ? ELSE state_transitioned END WHERE name = ?",
                       (state, reason, reason_data, now, moved, now, name))
            if moved:
                self._history(db, name, now, "StateUpdate", f"Alarm updated from {previous} to {state}",
                              {"version": "1.0", "oldState": {"stateValue": previous},
                               "newState": {"stateValue": state, "stateReason": reason}})
        return previous

    def delete_alarms(self, names: list[str]) -> list[str]:
        with self._connection() as db:
            known = {r[0] for r in db.execute("SELECT name FROM alarms")}
            unknown = [n for n in names if n not in known]
            if not unknown:
                db.executemany("DELETE FROM alarms WHERE name = ?", [(n,) for n in names])
        return unknown

    def history(self, name: str | None, *, kind: str | None = None, start: float | None = None,
                end: float | None = None, newest_first: bool = True) -> list[dict[str, Any]]:
        query = "SELECT name, at, kind, summary, data FROM alarm_history WHERE at >= ?"
        args: list[object] = [time.time() - HISTORY_DAYS * 86400]
        for clause, value in (("name = ?", name), ("kind = ?", kind), ("at >= ?", start), ("at < ?", end)):
            if value is not None:
                query += f" AND {clause}"
                args.append(value)
        query += " ORDER BY at DESC, id DESC" if newest_first else " ORDER BY at, id"
        with self._connection() as db:
            rows = db.execute(query, args).fetchall()
        return [{"name": n, "at": at, "kind": k, "summary": s, "data": d} for n, at, k, s, d in rows]

    @staticmethod
    def _history(db: sqlite3.Connection, name: str, at: float, kind: str, summary: str, data: dict) -> None:
        db.execute("INSERT INTO alarm_history (name, at, kind, summary, data) VALUES (?, ?, ?, ?, ?)",
                   (name, at, kind, summary, json.dumps(data)))
