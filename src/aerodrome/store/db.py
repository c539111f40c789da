"""Engine and sessions. The caller of `Store.session()` owns the transaction."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from aerodrome.store.generations import Generations
from aerodrome.store.sealing import TextSealer


class WouldBlock(Exception):
    """A store read was asked for inside `memory_only()`: do the call again where it may block."""


_MEMORY_ONLY = contextvars.ContextVar("memory_only", default=False)


class memory_only:  # used as `with memory_only():`, like a function
    """Inside this block (on an event loop, say) opening a session raises WouldBlock, so a call
    that would read the store stops before it does, and before any side effect that follows. A
    class rather than a generator: the API's hot path enters it twice a request."""

    def __enter__(self) -> None:
        self._token = _MEMORY_ONLY.set(True)

    def __exit__(self, *_: object) -> None:
        _MEMORY_ONLY.reset(self._token)


def may_block() -> None:
    """Raises WouldBlock inside `memory_only()`: for a file read or other wait that is not a session."""
    if _MEMORY_ONLY.get():
        raise WouldBlock


class InTheClear:
    """No sealing: for stores that live and die in memory (tests)."""

    def seal(self, text: str) -> str:
        return text

    def unseal(self, token: str) -> str:
        return token


class Store:
    def __init__(self, url: str, *, sealer: TextSealer | None = None):
        self.url = url
        self.sealer: TextSealer = sealer or InTheClear()
        self.engine = sqlalchemy.create_engine(url, connect_args=_connect_args(url))
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.generations = Generations(self._sessions)  # what caches of the store check

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        config.attributes["connection_url"] = self.url
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        from aerodrome.store import credentials

        with self.session() as session:  # secrets kept in the clear by an older version
            credentials.seal_clear(self.sealer, session=session)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        may_block()
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _connect_args(url: str) -> dict:
    return {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def rowcount(result: sqlalchemy.Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (its result is a CursorResult, which the types do not say)."""
    return cast("sqlalchemy.CursorResult[Any]", result).rowcount
