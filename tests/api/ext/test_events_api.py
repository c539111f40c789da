"""Status events through the real MWAA app, store and Aerodrome API (no reconciler runs here):
the JSON listing, the server-sent-events stream, the CLI, and webhook delivery with retries."""

import contextlib
import json
import subprocess
import sys
import threading
import time

import httpx
import pytest

from aerodrome.cli.ext_client import ExtClient, ExtError
from aerodrome.events.webhooks import SIGNATURE_HEADER, WebhookSender, verify
from tests.support import minimal
from tests.webhook_receiver import has_client, receiver


def statuses(events):
    return [(e["detail"]["name"], e["detail"].get("previousStatus"), e["detail"]["status"]) for e in events]


def test_listing_is_signed_ordered_and_filterable(plane, mwaa):
    mwaa.create_environment(**minimal(Name="one"))
    mwaa.create_environment(**minimal(Name="two"))
    mwaa.delete_environment(Name="one")
    client = ExtClient(plane["settings"])
    listing = client.request("GET", "/events")
    assert statuses(listing["events"]) == [("one", None, "CREATING"), ("two", None, "CREATING"),
                                           ("one", "CREATING", "DELETING")]
    assert listing["position"] == listing["latest"]
    first = listing["events"][0]
    assert first["source"] == "aws.airflow" and first["detail-type"] == "MWAA Environment Status Change"
    assert first["resources"] == [mwaa.get_environment(Name="one")["Environment"]["Arn"]]
    assert statuses(client.request("GET", "/events", query={"environment": "two"})["events"]) == [
        ("two", None, "CREATING")]
    assert client.request("GET", "/events", query={"after": listing["position"]})["events"] == []


def test_unsigned_and_bad_requests_get_aws_errors(plane):
    reply = httpx.get(f"{plane['url']}/aerodrome/v1/events")
    assert reply.status_code == 403
    assert reply.json()["code"] == "MissingAuthenticationTokenException"
    client = ExtClient(plane["settings"])
    with pytest.raises(ExtError, match="not an event position") as raised:
        client.request("GET", "/events", query={"after": "yesterday"})
    assert raised.value.code == "ValidationException"
    with pytest.raises(ExtError, match="No Aerodrome operation") as raised:
        client.request("GET", "/hibernations")
    assert raised.value.code == "ResourceNotFoundException"


def test_stream_delivers_events_as_they_happen(plane, mwaa):
    client = ExtClient(plane["settings"])
    got: list[dict] = []

    def follow():
        for _, data in client.stream("/events", query={"follow": "true"}):
            got.append(json.loads(data))
            if len(got) == 2:
                return

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    mwaa.create_environment(**minimal(Name="live"))
    mwaa.delete_environment(Name="live")
    thread.join(10)
    assert statuses(got) == [("live", None, "CREATING"), ("live", "CREATING", "DELETING")]


def test_cli_follow_prints_one_json_object_per_line_as_it_happens(plane, mwaa):
    env = {"AERODROME_HOME": str(plane["settings"].home), "AERODROME_PORT": str(plane["settings"].port)}
    mwaa.create_environment(**minimal(Name="before"))  # history: not shown by --follow
    with subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "events", "--follow", "--json"],
                          stdout=subprocess.PIPE, text=True, env=env) as follower:
        try:
            deadline = time.monotonic() + 30
            while not has_client(follower.pid, plane["settings"].port):
                assert time.monotonic() < deadline and follower.poll() is None, "the follower did not connect"
                time.sleep(0.1)
            time.sleep(0.5)  # the server takes its starting position as the request arrives
            mwaa.create_environment(**minimal(Name="after"))
            lines: list[str] = []
            reader = threading.Thread(target=lambda: lines.append(follower.stdout.readline()), daemon=True)
            reader.start()
            reader.join(20)
            assert lines, "no line within 20 s"  # it arrives while the command keeps running
            assert statuses([json.loads(lines[0])]) == [("after", None, "CREATING")]
        finally:
            follower.terminate()
    listing = subprocess.run([sys.executable, "-m", "aerodrome.cli", "events"], capture_output=True,
                             text=True, env=env, check=True).stdout.splitlines()
    assert [line.split()[1] for line in listing] == ["before", "after"]
    assert all("MWAA Environment Status Change" in line for line in listing)


def test_webhook_gets_every_event_in_order_signed_and_retried(plane, mwaa):
    with contextlib.ExitStack() as stack:
        hook = stack.enter_context(receiver(fail_first=2))
        sender = WebhookSender(hook.url, source=plane["events"], secret="s3cret")
        sender.start()
        stack.callback(sender.stop)
        for name in ("a", "b"):
            mwaa.create_environment(**minimal(Name=name))
        mwaa.delete_environment(Name="a")
        deadline = time.monotonic() + 15
        while len(hook.events()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert hook.refused == 2  # the first event was refused twice, then delivered
        assert statuses(hook.events()) == [("a", None, "CREATING"), ("b", None, "CREATING"),
                                           ("a", "CREATING", "DELETING")]
        for _, body, headers in hook.deliveries:
            assert verify("s3cret", body, headers[SIGNATURE_HEADER.lower()])
        # a restarted sender resumes after what was acknowledged: no repeats, nothing lost
        sender.stop()
        mwaa.delete_environment(Name="b")
        again = WebhookSender(hook.url, source=plane["events"], secret="s3cret")
        again.start()
        stack.callback(again.stop)
        deadline = time.monotonic() + 15
        while len(hook.events()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert statuses(hook.events())[3:] == [("b", "CREATING", "DELETING")]
