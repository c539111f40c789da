"""Small, frequent queries on environments' metadata databases over one kept connection each.

The autoscaler asks every environment for its queued and running tasks every few seconds, the idle
sleep rule for its next run; a `psql` process (and a PostgreSQL backend forked and authenticated)
per question cost more CPU than the question. One connection per environment database, opened on
first use and kept (autocommit, a statement timeout), costs one idle backend instead; a broken one
is opened again once. `close(env_id)` drops it when the environment stops or goes.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from aerodrome import errors
from aerodrome.runtimes.local.postgres import Postgres

if TYPE_CHECKING:
    import psycopg

STATEMENT_TIMEOUT_MS = 10_000


class Queries:
    def __init__(self, postgres: Postgres):
        self._postgres = postgres
        self._lock = threading.Lock()
        self._connections: dict[str, psycopg.Connection[Any]] = {}
        self._locks: dict[str, threading.Lock] = {}

    def rows(self, env_id: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows `statement` returns on the environment's database (none for a statement without)."""
        import psycopg

        with self._lock:
            lock = self._locks.setdefault(env_id, threading.Lock())
        with lock:
            for attempt in (1, 2):
                connection = self._connection(env_id)
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(statement, params)
                        return list(cursor.fetchall()) if cursor.description else []
                except psycopg.OperationalError as exc:  # the server restarted, or the connection broke
                    self._drop(env_id)
                    if attempt == 2:
                        raise errors.Temporary(f"PostgreSQL: {exc}") from exc
                except psycopg.Error as exc:  # a table Airflow has not made yet, say
                    raise errors.Temporary(f"PostgreSQL: {exc}") from exc
        raise AssertionError("unreachable")

    def close(self, env_id: str | None = None) -> None:
        """Drop the connection of one environment (every one when None)."""
        with self._lock:
            names = list(self._connections) if env_id is None else [env_id]
        for name in names:
            self._drop(name)

    def _connection(self, env_id: str) -> psycopg.Connection[Any]:
        import psycopg

        with self._lock:
            connection = self._connections.get(env_id)
        if connection is not None and not connection.closed:
            return connection
        self._postgres.ensure_running()
        host, port = self._postgres.address.rsplit(":", 1)
        user, password = self._postgres.superuser
        try:
            connection = psycopg.connect(host=host, port=int(port), user=user, password=password,
                                         dbname=f"env_{env_id}", autocommit=True, connect_timeout=10,
                                         application_name="aerodrome",
                                         options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        except psycopg.OperationalError as exc:
            raise errors.Temporary(f"PostgreSQL: {exc}") from exc
        with self._lock:
            self._connections[env_id] = connection
        return connection

    def _drop(self, env_id: str) -> None:
        import psycopg

        with self._lock:
            connection = self._connections.pop(env_id, None)
        if connection is not None:
            with contextlib.suppress(psycopg.Error):  # a broken connection may fail to close; it is gone
                connection.close()
