"""The plane's one ASGI app: a request is read once, the first rule that takes it decides, and its
answer waits for the audit journal's sync."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aerodrome.api.cloudwatch.app import cloudwatch_wire, logs_wire
from aerodrome.api.front import build_front
from aerodrome.api.sts.app import is_sts
from aerodrome.web.incoming import incoming


def scope(method="GET", path="/environments", headers=()):
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in headers]}


def signed_for(service):
    return ("authorization", f"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=00")


def test_incoming_reads_the_scope_service_and_the_first_of_repeated_headers():
    request = incoming(scope(headers=[signed_for("sts"), ("x-a", "1"), ("x-a", "2")]))
    assert (request.method, request.path, request.service) == ("GET", "/environments", "sts")
    assert request.header(b"x-a") == b"1" and request.header(b"x-missing") == b""
    assert incoming(scope()).service is None


def test_each_service_takes_its_own_requests():
    logs, cloudwatch = logs_wire(region="us-east-1", account="000000000000"), cloudwatch_wire()
    cases = {
        "sts": incoming(scope("POST", "/", [signed_for("sts")])),
        "unsigned sts": incoming(scope("POST", "/", [("content-type", "application/x-www-form-urlencoded")])),
        "logs": incoming(scope("POST", "/", [("x-amz-target", "Logs_20140328.PutLogEvents")])),
        "cloudwatch": incoming(scope("POST", "/", [signed_for("monitoring")])),
        "mwaa": incoming(scope(headers=[signed_for("airflow")])),
    }
    assert is_sts(cases["sts"]) and is_sts(cases["unsigned sts"]) and not is_sts(cases["mwaa"])
    assert logs.takes(cases["logs"]) and not cloudwatch.takes(cases["logs"])
    assert cloudwatch.takes(cases["cloudwatch"]) and not is_sts(cases["cloudwatch"])
    assert not any(rule(cases["mwaa"]) for rule in (is_sts, logs.takes, cloudwatch.takes))


def test_the_first_rule_decides_and_the_answer_waits_for_the_audit():
    events = []

    def app(name):
        async def answer(scope, receive, send):
            events.append(name)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": name.encode()})
        return answer

    class Audit:
        async def settled(self):
            events.append("settled")

    front = build_front([(lambda r: r.path.startswith("/a"), app("first")), (lambda r: r.path == "/ab", app("second"))],
                        app("default"), audit=Audit())

    async def call(path):
        sent = []

        async def send(message):
            sent.append(message["type"])

        await front(scope(path=path), None, send)
        return sent

    assert in_fresh_loop(lambda: call("/ab")) == ["http.response.start", "http.response.body"]
    in_fresh_loop(lambda: call("/other"))
    assert events == ["first", "settled", "default", "settled"]


def in_fresh_loop(make):
    """On a loop of its own thread, as tests/unit/test_audit_journal.py does (a worker may share its
    main thread with a browser's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result(60)
