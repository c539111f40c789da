"""kill -9 of the control plane in the middle of a burst of signed requests: after the restart, every
request that got an answer has its audit row (the journal synced it before the answer left)."""

import signal
import sqlite3
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from tests.support import free_port, mwaa_of_home, start_up

THREADS = 8


def test_every_answered_request_has_its_audit_row_after_a_kill_9(tmp_path):
    home, port = tmp_path / "h", free_port()
    home.mkdir()
    plane = start_up(home, port, free_port())
    answered: list[str] = []
    stop = threading.Event()

    def burst(worker: int) -> None:
        mwaa = mwaa_of_home(home, port)
        for n in range(100_000):
            if stop.is_set():
                return
            name = f"w{worker}-{n}"
            try:
                mwaa.get_environment(Name=name)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
            except BotoCoreError:
                return  # no answer: the plane is gone
            answered.append(name)

    try:
        workers = [threading.Thread(target=burst, args=(i,)) for i in range(THREADS)]
        for worker in workers:
            worker.start()
        time.sleep(2.0)
        plane.send_signal(signal.SIGKILL)  # mid-burst
        plane.wait()
        stop.set()
        for worker in workers:
            worker.join(10)
        plane = start_up(home, port, free_port())  # stores what the journal kept
    finally:
        plane.send_signal(signal.SIGTERM)
        plane.wait(60)
    with sqlite3.connect(home / "aerodrome.db") as db:
        resources = {r for (r,) in db.execute("SELECT resource FROM audit WHERE action = 'airflow:GetEnvironment'")}
    recorded = {r.rsplit("/", 1)[-1] for r in resources}
    assert len(answered) > 100
    missing = [name for name in answered if name not in recorded]
    assert missing == [], f"{len(missing)} of {len(answered)} answered requests have no audit row"
