"""The hosts-file block `aerodrome hosts` writes: marked, idempotent, removable, next to others' lines."""

from pathlib import Path

from aerodrome.cli import hosts, main
from aerodrome.settings import Settings

ORIGINAL = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.0.0.9 build-cache # keep\n"


def test_install_adds_one_block_and_remove_restores_the_file(tmp_path: Path, capsys) -> None:
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text(ORIGINAL)
    env = {"AERODROME_HOME": str(tmp_path / "home")}
    settings = Settings.from_env(env)

    assert hosts.run(_args("install", hosts_file), settings) == 0
    assert hosts.run(_args("install", hosts_file), settings) == 0  # twice: still one block
    text = hosts_file.read_text()
    assert text.startswith(ORIGINAL)
    assert text.count(hosts.BEGIN) == 1
    assert "127.0.0.1 api.localhost env.localhost\n" in text
    assert "api.localhost, env.localhost: resolve to 127.0.0.1" in capsys.readouterr().out

    assert hosts.run(_args("remove", hosts_file), settings) == 0
    assert hosts_file.read_text() == ORIGINAL


def test_a_named_endpoint_gets_its_prefixed_names_and_an_address_gets_none(tmp_path: Path) -> None:
    named = Settings.from_env({"AERODROME_HOME": str(tmp_path), "AERODROME_ENDPOINT_HOSTNAME": "airflow.example.org",
                               "AERODROME_PORT": "443"})
    assert named.endpoint_url == "http://airflow.example.org:443"
    assert hosts.names(named) == ["api.airflow.example.org", "env.airflow.example.org"]
    by_address = Settings.from_env({"AERODROME_HOME": str(tmp_path), "AERODROME_HOST": "10.1.2.3"})
    assert hosts.names(by_address) == []


def test_a_block_without_a_trailing_newline_before_it_stays_intact() -> None:
    text = hosts.with_block("127.0.0.1 localhost", "127.0.0.1", ["api.x", "env.x"])
    assert text.splitlines()[0] == "127.0.0.1 localhost"
    assert hosts.without_block(text) == "127.0.0.1 localhost\n"


def test_an_unwritable_hosts_file_says_what_to_run(tmp_path: Path, capsys, monkeypatch) -> None:
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text(ORIGINAL)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", refuse)
    code = main(["hosts", "install", "--file", str(hosts_file)])
    monkeypatch.undo()
    assert code == 1
    assert "sudo uv run aerodrome hosts install" in capsys.readouterr().err
    assert hosts_file.read_text() == ORIGINAL


def _args(command: str, hosts_file: Path):
    import argparse

    return argparse.Namespace(hosts_command=command, file=hosts_file)
