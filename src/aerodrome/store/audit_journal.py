"""Audit rows that neither make requests wait on the store nor get lost in a crash.

`AuditJournal.append` only queues an entry. One writer thread takes everything queued, appends it
to a local journal file as JSON lines and syncs that file once for the whole batch (group commit),
then inserts what it has synced into the store in one transaction: at once when nothing more is
queued (or `wait_stored` is waiting), otherwise after the next batches, up to STORE_EVERY entries.
Once every line is stored and the file has grown past EMPTY_PAST, it empties the file. A request's
answer waits (`settled`) until the entries appended before it are in the synced file: many requests
share one sync, and a kill -9 after the answer loses none of them, because the next start (`open`)
stores whatever the file still holds that the store lacks.

`DirectAudit` writes each entry in its own transaction: for services built without a journal
(tests, one-off commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from aerodrome.store import principals
from aerodrome.store.db import Store
from aerodrome.store.principals import AuditEntry

log = logging.getLogger(__name__)

RETRY = 0.5  # seconds before a failed sync or insert is tried again
EMPTY_PAST = 1 << 20  # bytes: the file is emptied (once all of it is stored) only past this size, as
# emptying it makes the next sync a file-system journal commit too
STORE_EVERY = 1000  # entries: while requests keep coming, the store takes them this many at a time
_LINE = json.JSONEncoder(separators=(",", ":"))  # one encoder for every line: json.dumps makes one a call


class Audit(Protocol):
    def append(self, entry: AuditEntry) -> None: ...

    async def settled(self) -> None:
        """Returns once every entry appended so far survives a crash."""

    def wait_stored(self, timeout: float = 10.0) -> None:
        """Returns once every entry appended so far is in the store (or after `timeout`)."""


class DirectAudit:
    def __init__(self, store: Store):
        self._store = store

    def append(self, entry: AuditEntry) -> None:
        with self._store.session() as session:
            principals.record_all([entry], session=session)

    async def settled(self) -> None:
        return None

    def wait_stored(self, timeout: float = 10.0) -> None:
        return None


class AuditJournal:
    def __init__(self, store: Store, path: Path, *, sync: Callable[[int], None] = os.fdatasync):
        self._store = store
        self._path = path
        self._sync = sync
        self._cond = threading.Condition()
        self._queued: list[AuditEntry] = []
        self._appended = 0  # entries appended so far
        self._durable = 0  # of which this many are in the synced file
        self._stored = 0  # and this many in the store
        self._wanted = 0  # callers of wait_stored waiting
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="audit-journal", daemon=True)
        self._file: int | None = None
        self._size = 0

    # --- life ----------------------------------------------------------------------------------
    def open(self) -> int:
        """Store what a previous run left in the journal and start the writer; how many entries were
        recovered."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        left = list(_read(self._path))
        if left:
            with self._store.session() as session:
                missing = principals.unrecorded(left, session=session)
                principals.record_all(missing, session=session)
            log.info("audit journal: %d entries left by the previous run, %d stored now", len(left), len(missing))
        self._file = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        self._thread.start()
        return len(left)

    def close(self) -> None:
        """Write and store what is queued, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(30)
        if self._file is not None:
            if not self._thread.is_alive() and self._stored == self._appended:
                self._empty_file()  # all stored: nothing for the next start to look at
            os.close(self._file)
            self._file = None

    # --- Audit ---------------------------------------------------------------------------------
    def append(self, entry: AuditEntry) -> None:
        with self._cond:
            self._queued.append(entry)
            self._appended += 1
            self._cond.notify_all()

    async def settled(self) -> None:
        target = self._appended
        if self._durable >= target:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._durable >= target:
                return
            self._waiters.append((target, loop, future))
        await future

    def wait_stored(self, timeout: float = 10.0) -> None:
        with self._cond:
            target = self._appended
            self._wanted += 1  # the writer stores what it has synced rather than wait for more
            try:
                self._cond.wait_for(lambda: self._stored >= target or not self._thread.is_alive(), timeout)
            finally:
                self._wanted -= 1

    # --- the writer ----------------------------------------------------------------------------
    def _run(self) -> None:
        unstored: list[AuditEntry] = []
        while True:
            with self._cond:
                if not unstored:
                    self._cond.wait_for(lambda: self._queued or self._closing)
                batch, self._queued = self._queued, []
                upto, closing = self._appended, self._closing
            if batch:
                self._write(batch)
                self._release(upto)
                unstored.extend(batch)
            if unstored and self._queued and len(unstored) < STORE_EVERY and not closing and not self._wanted:
                continue  # more already waits for its sync: the store takes these with it, in one transaction
            if unstored and self._store_all(unstored):
                unstored = []
                with self._cond:
                    self._stored = upto
                    self._cond.notify_all()
                if self._size >= EMPTY_PAST:
                    self._empty_file()
            elif unstored:
                with self._cond:
                    self._cond.wait(RETRY)
            if closing and not unstored:
                with self._cond:
                    if not self._queued:
                        return

    def _write(self, batch: list[AuditEntry]) -> None:
        data = "".join([_LINE.encode(vars(e)) + "\n" for e in batch]).encode()
        while True:
            try:
                assert self._file is not None
                written = 0
                while written < len(data):
                    written += os.write(self._file, data[written:])
                self._sync(self._file)
                self._size += len(data)
                return
            except OSError:
                log.exception("the audit journal could not be written; requests wait until it can")
                with self._cond:
                    self._cond.wait(RETRY)

    def _release(self, upto: int) -> None:
        """Entries up to `upto` are durable: wake the requests waiting on them, one call per loop."""
        with self._cond:
            self._durable = upto
            ready = [w for w in self._waiters if w[0] <= upto]
            self._waiters = [w for w in self._waiters if w[0] > upto]
            self._cond.notify_all()
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, future in ready:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a loop that has closed meanwhile
                loop.call_soon_threadsafe(_resolve, futures)

    def _store_all(self, entries: list[AuditEntry]) -> bool:
        try:
            with self._store.session() as session:
                principals.record_all(entries, session=session)
            return True
        except Exception:
            log.exception("storing %d audit entries failed; they stay in the journal", len(entries))
            return False

    def _empty_file(self) -> None:
        """Every line in the file is stored (only this thread writes it). Lost in a crash, the
        emptying costs nothing: the next start stores only what the store lacks."""
        assert self._file is not None
        with contextlib.suppress(OSError):
            os.ftruncate(self._file, 0)
            self._size = 0


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


def _read(path: Path) -> Iterator[AuditEntry]:
    """The complete lines of a journal; a torn last line is an entry whose request got no answer."""
    try:
        text = path.read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return
    for line in text.split("\n")[:-1]:
        try:
            yield AuditEntry(**json.loads(line))
        except (ValueError, TypeError):
            log.warning("audit journal: an unreadable line skipped")
