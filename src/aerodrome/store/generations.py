"""A change counter per table, bumped when a transaction that wrote the table commits.

Caches of what rarely changes (access keys, policies) remember the generation they were filled at
and are good while it stays the same: every writer in this process goes through the store's
sessions, so none can change a table without the count moving. It sees ORM changes and the
INSERT/UPDATE/DELETE statements a session executes; not other processes, nor raw connections.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

_WRITTEN = "aerodrome.written_tables"


class Generations:
    def __init__(self, sessions: sessionmaker[Session]):
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        event.listen(sessions, "after_flush", _note_flush)
        event.listen(sessions, "do_orm_execute", _note_statement)
        event.listen(sessions, "after_commit", self._count)
        event.listen(sessions, "after_rollback", _forget)

    def of(self, *tables: str) -> int:
        """A number that changes whenever one of `tables` does (the sum of their counts)."""
        counts = self._counts  # a list, not a generator: this runs several times per API request
        return sum([counts.get(t, 0) for t in tables])

    def _count(self, session: Session) -> None:
        written = session.info.pop(_WRITTEN, None)
        if written:
            with self._lock:
                for table in written:
                    self._counts[table] = self._counts.get(table, 0) + 1


def _note_flush(session: Session, _context: Any) -> None:
    tables = {obj.__table__.name for obj in (*session.new, *session.dirty, *session.deleted)}
    if tables:
        session.info.setdefault(_WRITTEN, set()).update(tables)


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None:
            state.session.info.setdefault(_WRITTEN, set()).add(table.name)


def _forget(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
