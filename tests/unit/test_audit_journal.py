"""The audit journal: entries synced in groups before requests are answered, stored in the
background, and stored on the next start when a crash left them in the file."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from aerodrome.store import principals
from aerodrome.store.audit_journal import AuditJournal
from aerodrome.store.principals import AuditEntry


def stored(store):
    with store.session() as session:
        return principals.audit(session=session, limit=1000)


def test_many_entries_share_few_syncs_and_reach_the_store(store, settings):
    syncs = []
    release = threading.Event()

    def slow_sync(fd):
        syncs.append(fd)
        release.wait(5)

    journal = AuditJournal(store, settings.audit_journal_file, sync=slow_sync)
    journal.open()

    async def burst():
        async def one(i):
            journal.append(AuditEntry("p", "airflow:GetEnvironment", f"r{i}", "allowed"))
            await journal.settled()

        tasks = [asyncio.create_task(one(i)) for i in range(200)]
        await asyncio.sleep(0.2)
        release.set()
        await asyncio.gather(*tasks)

    in_fresh_loop(burst)
    journal.wait_stored()
    assert len(stored(store)) == 200
    assert len(syncs) < 10  # the first batch waits on its sync while the rest gather behind it
    journal.close()
    assert settings.audit_journal_file.read_bytes() == b""  # everything stored: the file is emptied


def test_entries_a_crash_left_are_stored_once_on_the_next_start(store, settings):
    done = AuditEntry("p", "airflow:ListEnvironments", "*", "allowed", at=1.5)
    left = AuditEntry("p", "airflow:GetEnvironment", "arn:x", "denied", at=2.5)
    with store.session() as session:
        principals.record_all([done], session=session)  # stored before the crash, file not yet emptied
    lines = [json.dumps(e.__dict__) for e in (done, left)]
    settings.audit_journal_file.write_text("\n".join(lines) + "\n" + '{"principal": "torn')
    journal = AuditJournal(store, settings.audit_journal_file)
    assert journal.open() == 2
    journal.close()
    rows = stored(store)
    assert [(r["at"], r["action"], r["outcome"]) for r in rows] == [
        (1.5, "airflow:ListEnvironments", "allowed"), (2.5, "airflow:GetEnvironment", "denied")]


def test_settled_returns_at_once_when_nothing_is_pending(store, settings):
    journal = AuditJournal(store, settings.audit_journal_file)
    journal.open()
    in_fresh_loop(lambda: asyncio.wait_for(journal.settled(), 1))
    journal.close()



def in_fresh_loop(make):
    """Runs the coroutine `make()` returns on an event loop of its own thread: a session's browser
    (Playwright's sync API) keeps a loop running on the main thread of the worker this test may share."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(make())).result(60)
