"""`aerodrome principals ...` and `aerodrome env confirm-endpoints` go through the running control
plane's Aerodrome API: SigV4-signed, authorized (`aerodrome:` actions for principals, so `airflow:*`
does not grant them), audited without secrets; confirm-endpoints wakes the reconciler."""

import json

import pytest

from aerodrome.auth import policy
from aerodrome.cli import main
from aerodrome.cli.ext_client import ExtClient, ExtError
from aerodrome.services.principals import ADMIN, ADMIN_POLICY_NAME, PrincipalService
from aerodrome.store import principals as rows
from tests.support import minimal

FULL_MWAA_ACCESS = {"Statement": [{"Effect": "Allow", "Action": "airflow:*", "Resource": "*"}]}


@pytest.fixture
def cli(plane, monkeypatch, capsys):
    monkeypatch.setenv("AERODROME_HOME", str(plane["settings"].home))

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def audit(plane) -> list[dict]:
    return ExtClient(plane["settings"]).request("GET", "/audit", query={"limit": 1000})["Entries"]


def test_principals_commands(plane, cli, tmp_path):
    code, created, _ = cli("principals", "create", "alice")
    assert code == 0
    secret = created.split("AWS_SECRET_ACCESS_KEY=")[1].split()[0]
    policy_file = tmp_path / "read.json"
    policy_file.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": "airflow:Get*", "Resource": "*"}]}))
    assert cli("principals", "attach-policy", "alice", "read", f"@{policy_file}")[0] == 0
    code, _, err = cli("principals", "attach-policy", "alice", "bad", '{"Statement": []}')
    assert code == 1 and "non-empty list" in err
    code, out, _ = cli("principals", "list")
    listed = json.loads(out)
    alice = next(p for p in listed if p["Name"] == "alice")
    assert list(alice["Policies"]) == ["read"] and len(alice["AccessKeyIds"]) == 1
    assert next(p for p in listed if p["Name"] == "admin")["Policies"]["AdministratorAccess"]
    code, _, err = cli("principals", "delete", "admin")
    assert code == 1 and "cannot be deleted" in err
    assert cli("principals", "detach-policy", "alice", "read")[0] == 0
    assert cli("principals", "delete", "alice")[0] == 0
    code, _, err = cli("principals", "delete", "alice")
    assert code == 1 and "Principal alice does not exist" in err
    code, out, _ = cli("principals", "audit", "--limit", "1000")
    assert code == 0 and secret not in out and "attach-policy" not in out
    entries = [json.loads(line) for line in out.splitlines()]
    done = [(e["Principal"], e["Action"], e["Resource"]) for e in entries if e["Outcome"] == "ok"]
    assert done == [(ADMIN, "aerodrome:CreatePrincipal", "alice"), (ADMIN, "aerodrome:AttachPolicy", "alice/read"),
                    (ADMIN, "aerodrome:DetachPolicy", "alice/read"), (ADMIN, "aerodrome:DeletePrincipal", "alice")]
    assert ("aerodrome:CreatePrincipal", "arn:aws:airflow:us-east-1:000000000000:principal/alice", "allowed") in \
        [(e["Action"], e["Resource"], e["Outcome"]) for e in entries]


def test_principal_actions_need_their_own_aerodrome_actions(plane):
    principals = plane["principals"]
    key = principals.create("operator")
    principals.attach("operator", "mwaa", json.dumps(FULL_MWAA_ACCESS))
    operator = ExtClient(plane["settings"], access_key=key)
    for method, path, body in [("POST", "/principals", {"Name": "mallory"}), ("GET", "/principals", None),
                               ("DELETE", "/principals/operator", None),
                               ("PUT", "/principals/operator/policies/all", {"PolicyDocument": policy.ADMIN_POLICY}),
                               ("DELETE", "/principals/operator/policies/mwaa", None), ("GET", "/audit", None)]:
        with pytest.raises(ExtError, match="operator is not authorized to perform: aerodrome:") as denied:
            operator.request(method, path, body=body)
        assert denied.value.code == "AccessDeniedException"
    assert [p["Name"] for p in ExtClient(plane["settings"]).request("GET", "/principals")["Principals"]] == \
        ["admin", "operator"]  # nothing changed
    denials = [e for e in audit(plane) if e["Principal"] == "operator"]
    assert len(denials) == 6 and {e["Outcome"] for e in denials} == {"denied"}

    principals.attach("operator", "people", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "aerodrome:CreatePrincipal", "Resource": "arn:aws:airflow:*:*:principal/ci-*"}]}))
    created = operator.request("POST", "/principals", body={"Name": "ci-bot"})
    assert created["Name"] == "ci-bot" and created["AccessKeyId"] and created["SecretAccessKey"]
    with pytest.raises(ExtError, match="aerodrome:CreatePrincipal on resource: .*principal/root"):
        operator.request("POST", "/principals", body={"Name": "root"})
    entries = audit(plane)
    done = next(e for e in entries if e["Outcome"] == "ok" and e["Resource"] == "ci-bot")
    assert (done["Principal"], done["Action"]) == ("operator", "aerodrome:CreatePrincipal")
    assert created["SecretAccessKey"] not in json.dumps(entries)


def test_bad_principal_requests(plane):
    client = ExtClient(plane["settings"])
    for method, path, body, message in [
            ("POST", "/principals", {}, "Name must be a string"),
            ("POST", "/principals", {"Name": "a/b"}, "A principal name is 1-64"),
            ("PUT", "/principals/admin/policies/p", {"PolicyDocument": 3}, "PolicyDocument must be"),
            ("PUT", "/principals/admin/policies/p", {"PolicyDocument": "{"}, "not valid JSON"),
            ("PUT", "/principals/nobody/policies/p", {"PolicyDocument": FULL_MWAA_ACCESS}, "nobody does not exist"),
            ("DELETE", "/principals/admin/policies/none", None, "has no policy named none"),
            ("PATCH", "/principals", None, "No Aerodrome operation")]:
        with pytest.raises(ExtError, match=message):
            client.request(method, path, body=body)
    with pytest.raises(ExtError, match="limit must be a whole number") as raised:
        client.request("GET", "/audit", query={"limit": "0"})
    assert raised.value.code == "ValidationException"


def test_an_admin_policy_from_an_earlier_version_gains_the_aerodrome_actions(plane):
    store = plane["store"]
    with store.session() as session:
        rows.put_policy(ADMIN, ADMIN_POLICY_NAME, json.dumps(policy.EARLIER_ADMIN_POLICIES[0]), session=session)
    principals = PrincipalService(store=store, region="us-east-1", account="000000000000")
    principals.ensure_admin()
    with store.session() as session:
        assert json.loads(rows.policies(ADMIN, session=session)[ADMIN_POLICY_NAME]) == policy.ADMIN_POLICY


def test_confirm_endpoints_goes_through_the_api_and_wakes_the_reconciler(plane, mwaa, cli):
    mwaa.create_environment(**minimal(Name="dev", EndpointManagement="CUSTOMER"))
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "PENDING"
    plane["wakes"].clear()
    principals = plane["principals"]
    key = principals.create("viewer")
    principals.attach("viewer", "get", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "airflow:GetEnvironment", "Resource": "*"}]}))
    with pytest.raises(ExtError, match="viewer is not authorized to perform: airflow:ConfirmEndpoints") as denied:
        ExtClient(plane["settings"], access_key=key).request("POST", "/environments/dev/confirm-endpoints")
    assert denied.value.code == "AccessDeniedException"
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "PENDING" and plane["wakes"] == []

    code, out, _ = cli("env", "confirm-endpoints", "dev")
    assert code == 0 and out == "dev: endpoints confirmed; the environment is CREATING\n"
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "CREATING"
    assert plane["wakes"] == ["dev"]
    code, _, err = cli("env", "confirm-endpoints", "dev")
    assert code == 1 and "is CREATING, not PENDING" in err
    code, _, err = cli("env", "confirm-endpoints", "nope")
    assert code == 1 and "nope" in err
    decisions = [(e["Principal"], e["Outcome"]) for e in audit(plane)
                 if e["Action"] == "airflow:ConfirmEndpoints" and e["Resource"].endswith(":environment/dev")]
    assert decisions == [("viewer", "denied"), (ADMIN, "allowed"), (ADMIN, "allowed")]


def test_commands_say_when_no_control_plane_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AERODROME_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AERODROME_PORT", "9")  # nothing listens on the discard port
    for argv in (["principals", "list"], ["env", "confirm-endpoints", "dev"]):
        assert main(argv) == 1
        assert "no control plane answers at http://localhost:9; start one with `aerodrome up`" in \
            capsys.readouterr().err
