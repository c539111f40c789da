import json

from aerodrome.cli import main


def test_principals_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AERODROME_HOME", str(tmp_path / "home"))
    assert main(["principals", "create", "alice"]) == 0
    created = capsys.readouterr().out
    secret = created.split("AWS_SECRET_ACCESS_KEY=")[1].split()[0]
    policy = tmp_path / "read.json"
    policy.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": "airflow:Get*", "Resource": "*"}]}))
    assert main(["principals", "attach-policy", "alice", "read", f"@{policy}"]) == 0
    assert main(["principals", "attach-policy", "alice", "bad", '{"Statement": []}']) == 1
    assert "non-empty list" in capsys.readouterr().err
    assert main(["principals", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    alice = next(p for p in listed if p["name"] == "alice")
    assert list(alice["policies"]) == ["read"] and len(alice["access_keys"]) == 1
    assert next(p for p in listed if p["name"] == "admin")["policies"]["AdministratorAccess"]
    assert main(["principals", "delete", "admin"]) == 1
    assert main(["principals", "detach-policy", "alice", "read"]) == 0
    assert main(["principals", "delete", "alice"]) == 0
    assert main(["principals", "audit"]) == 0
    audit = capsys.readouterr().out
    assert "aerodrome:DeletePrincipal" in audit and secret not in audit
