"""Console sessions in memory: only a cookie naming a live session finds it; ending or expiring one
closes its API clients."""

from aerodrome.console import sessions as console_sessions
from aerodrome.console.sessions import ConsoleSessions

ISSUED = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s" * 40, "SessionToken": "t" * 60}


class Client:
    closed = False

    def close(self):
        self.closed = True


def test_only_the_issued_id_finds_a_live_session_and_no_secret_shows_in_its_repr():
    now = [1000.0]
    kept = ConsoleSessions(clock=lambda: now[0])
    session_id = kept.open(principal="ops", person=None, credentials=ISSUED)
    session = kept.get(session_id)
    assert session is not None and session.principal == "ops" and len(session.csrf) > 20
    assert kept.get(session_id + "x") is None and kept.get("") is None
    assert ISSUED["SecretAccessKey"] not in repr(session) and ISSUED["SessionToken"] not in repr(session)
    assert session.csrf not in repr(session)
    now[0] += console_sessions.SESSION_SECONDS
    assert kept.get(session_id) is None  # expired


def test_ending_expiring_or_closing_closes_the_clients():
    now = [0.0]
    kept = ConsoleSessions(clock=lambda: now[0])
    first, second = (kept.open(principal="ops", person="ann", credentials=ISSUED) for _ in range(2))
    clients = [Client(), Client(), Client()]
    kept.get(first).clients["mwaa"] = clients[0]
    kept.get(second).clients["logs"] = clients[1]
    kept.end(first)
    assert clients[0].closed and kept.get(first) is None and kept.get(second) is not None
    now[0] += console_sessions.SESSION_SECONDS + 1
    kept.open(principal="ops", person=None, credentials=ISSUED)  # drops the expired second one
    assert clients[1].closed
    third = kept.open(principal="ops", person=None, credentials=ISSUED)
    kept.get(third).clients["cloudwatch"] = clients[2]
    kept.close()
    assert clients[2].closed and kept.get(third) is None
