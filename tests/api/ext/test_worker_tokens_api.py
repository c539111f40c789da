"""Join tokens for remote worker hosts through the Aerodrome API and `aerodrome worker token|tokens|revoke`:
a token is shown once and only its hash is stored; the join handshake (not SigV4-signed, the token
is the host's credential) refuses foreign, revoked, expired and other environments' tokens and a
second host, each with a message saying why, and records nothing for a refused join; policies decide
who may issue, list and revoke."""

import hashlib
import json

import httpx
import pytest
from sqlalchemy import select, update

from aerodrome import errors
from aerodrome.cli import main
from aerodrome.cli.ext_client import PREFIX, ExtClient, ExtError
from aerodrome.store import environments
from aerodrome.store.tables import WorkerTokenRow
from tests.support import minimal


@pytest.fixture
def cli(plane, monkeypatch, capsys):
    monkeypatch.setenv("AERODROME_HOME", str(plane["settings"].home))

    def run(*args):
        code = main(["worker", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def join(plane, body) -> httpx.Response:
    return httpx.post(f"{plane['url']}{PREFIX}/workers/join", json=body, timeout=10)


def rows(plane) -> list[WorkerTokenRow]:
    with plane["store"].session() as session:
        return list(session.scalars(select(WorkerTokenRow)))


def test_cli_issues_lists_and_revokes_and_only_the_hash_is_kept(plane, mwaa, cli):
    mwaa.create_environment(**minimal(Name="dev"))
    code, out, _ = cli("token", "dev", "--queue", "gpu", "--ttl", "2h")
    assert code == 0
    token, summary = out.splitlines()
    token_id = token.split(".")[1]
    assert token.startswith("adw1.") and f"token {token_id} for dev, queue gpu" in summary
    [row] = rows(plane)
    assert row.secret_hash == hashlib.sha256(token.split(".")[2].encode()).hexdigest()
    assert token.split(".")[2] not in json.dumps({c.name: getattr(row, c.name) for c in row.__table__.columns})
    assert row.expires_at - row.created_at == 7200 and row.created_by == "admin"

    listed = ExtClient(plane["settings"]).request("GET", "/environments/dev/worker-tokens")
    assert [(t["TokenId"], t["Queue"], t["State"], t["Host"]) for t in listed["Tokens"]] == \
        [(token_id, "gpu", "unused", None)]
    assert "Token" not in listed["Tokens"][0]

    reply = join(plane, {"Token": token, "Host": "edge-1"})
    assert reply.status_code == 200
    version = mwaa.get_environment(Name="dev")["Environment"]["AirflowVersion"]
    assert {k: v for k, v in reply.json().items() if k not in ("Spec", "ExecutionApiUrl", "WebCa")} == {
        "Environment": "dev", "AirflowVersion": version, "Queue": "gpu", "TokenId": token_id, "Host": "edge-1",
        "Region": "us-east-1"}
    code, out, _ = cli("tokens", "dev")
    assert code == 0 and f"{token_id}" in out and "joined" in out and "edge-1" in out

    code, out, _ = cli("revoke", "dev", token_id)
    assert code == 0 and f"token {token_id} of dev: revoked at" in out
    refused = join(plane, {"Token": token, "Host": "edge-1"})
    assert refused.status_code == 403 and refused.json()["message"].startswith(f"Join token {token_id} was revoked at")
    code, _, err = cli("revoke", "dev", "ffffffffffffffff")
    assert code == 1 and "Environment dev has no worker token ffffffffffffffff" in err
    code, _, err = cli("token", "dev", "--ttl", "5s")
    assert code == 1 and "from 60 seconds to 30 days" in err and len(rows(plane)) == 1
    code, _, err = cli("token", "nope")
    assert code == 1 and "Environment nope not found" in err


def test_joins_refused_say_why_and_record_nothing(plane, mwaa):
    mwaa.create_environment(**minimal(Name="dev"))
    mwaa.create_environment(**minimal(Name="prod"))
    client = ExtClient(plane["settings"])
    dev = client.request("POST", "/environments/dev/worker-tokens", body={"Queue": "gpu"})
    prod = client.request("POST", "/environments/prod/worker-tokens", body={})
    assert prod["Queue"] == "default"

    def refused(body, message, status=403, code="AccessDeniedException"):
        reply = join(plane, body)
        assert (reply.status_code, reply.headers["x-amzn-ErrorType"]) == (status, code), reply.text
        assert message in reply.json()["message"]

    refused({"Token": "adw1.0123456789abcdef." + "x" * 43, "Host": "h1"}, "not issued by this control plane")
    refused({"Token": dev["Token"][:-1] + ("A" if dev["Token"][-1] != "A" else "B"), "Host": "h1"},
            "not issued by this control plane")
    refused({"Token": "not a token", "Host": "h1"}, "not issued by this control plane")
    refused({"Token": dev["Token"], "Host": "h1", "Environment": "prod"}, "is for environment dev, not prod")
    refused({"Token": dev["Token"], "Host": "a host"}, "Host must name the joining host", 400, "ValidationException")
    refused({"Token": dev["Token"], "Host": "h1", "Queue": "x"}, "Unknown member(s): Queue", 400,
            "ValidationException")
    with plane["store"].session() as session:  # past its joining deadline, unused
        session.execute(update(WorkerTokenRow).where(WorkerTokenRow.token_id == prod["TokenId"])
                        .values(expires_at=1.0))
    refused({"Token": prod["Token"], "Host": "h1"}, f"Join token {prod['TokenId']} expired at 1970-01-01T00:00:01Z")
    assert all(row.host is None for row in rows(plane))  # nothing recorded by a refused join

    assert join(plane, {"Token": dev["Token"], "Host": "h1", "Environment": "dev"}).status_code == 200
    assert join(plane, {"Token": dev["Token"], "Host": "h1"}).status_code == 200  # the same host again
    refused({"Token": dev["Token"], "Host": "h2"}, "belongs to host h1; each host joins with a token of its own")
    with pytest.raises(ExtError, match=f"Environment prod has no worker token {dev['TokenId']}"):
        client.request("DELETE", f"/environments/prod/worker-tokens/{dev['TokenId']}")  # another environment's

    mwaa.delete_environment(Name="dev")
    with plane["store"].session() as session:  # what the reconciler does once the deletion is done
        environments.remove("dev", session=session)
    assert [row.environment for row in rows(plane)] == ["prod"]
    refused({"Token": dev["Token"], "Host": "h1"}, "not issued by this control plane")


def test_policies_decide_who_may_issue_list_and_revoke(plane, mwaa):
    mwaa.create_environment(**minimal(Name="dev"))
    principals = plane["principals"]
    key = principals.create("viewer")
    principals.attach("viewer", "p", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "airflow:ListWorkerTokens", "Resource": "arn:aws:airflow:*:*:environment/dev"}]}))
    viewer = ExtClient(plane["settings"], access_key=key)
    assert viewer.request("GET", "/environments/dev/worker-tokens") == {"Name": "dev", "Tokens": []}
    with pytest.raises(ExtError, match="viewer is not authorized to perform: airflow:CreateWorkerToken") as denied:
        viewer.request("POST", "/environments/dev/worker-tokens", body={})
    assert denied.value.code == "AccessDeniedException"
    issued = ExtClient(plane["settings"]).request("POST", "/environments/dev/worker-tokens", body={})
    with pytest.raises(ExtError, match="viewer is not authorized to perform: airflow:RevokeWorkerToken"):
        viewer.request("DELETE", f"/environments/dev/worker-tokens/{issued['TokenId']}")
    assert rows(plane)[0].revoked_at is None and len(rows(plane)) == 1
    unsigned = httpx.get(f"{plane['url']}{PREFIX}/environments/dev/worker-tokens", timeout=10)
    assert unsigned.status_code == 403


class RecordingHosts:
    """The runtime's side of joining (real: tests/api/test_broker_doors.py), recorded."""

    def __init__(self):
        self.calls = []

    def admit_worker_host(self, placement, user, *, queue):
        self.calls.append(("admit", placement.env_id, user, queue))
        return {"BrokerUrl": f"rediss://{user}:pw@127.0.0.1:1/0", "BrokerCa": "PEM"}

    def dismiss_worker_host(self, placement, user):
        self.calls.append(("dismiss", placement.env_id, user))


def test_a_join_lets_the_host_into_the_broker_and_a_revoke_shuts_it_out(plane, mwaa):
    from aerodrome.services.worker_tokens import WorkerTokenService

    mwaa.create_environment(**minimal(Name="dev"))
    hosts = RecordingHosts()
    service = WorkerTokenService(store=plane["store"], hosts=hosts)
    issued = service.issue("dev", queue="gpu")
    with plane["store"].session() as session:
        env_id = environments.get("dev", session=session).placement.env_id
    with pytest.raises(errors.AccessDenied):
        service.join(issued["Token"], host="h1", environment="prod")
    assert hosts.calls == []  # a refused join lets nobody in
    answer = service.join(issued["Token"], host="h1")
    user = f"host-{issued['TokenId']}"
    assert answer["BrokerUrl"] == f"rediss://{user}:pw@127.0.0.1:1/0" and answer["BrokerCa"] == "PEM"
    service.revoke("dev", issued["TokenId"])
    assert [(call, who) for call, _, who, *_ in hosts.calls] == [("admit", user), ("dismiss", user)]
    assert hosts.calls[0][3] == "gpu"  # the host's broker user reaches its token's queue
    assert {env for _, env, *_ in hosts.calls} == {env_id}
