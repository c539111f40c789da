import pytest

from aerodrome import errors
from aerodrome.domain import cli_commands
from aerodrome.services.tokens import Tokens


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_cli_token_reusable_until_expiry_and_only_for_its_environment():
    clock = Clock()
    tokens = Tokens(clock=clock)
    token = tokens.issue("cli", environment="dev", principal="alice", role="Admin")
    assert tokens.redeem(token, "cli", environment="dev").principal == "alice"
    assert tokens.redeem(token, "cli", environment="dev").principal == "alice"
    with pytest.raises(errors.Unauthenticated, match="another environment"):
        tokens.redeem(token, "cli", environment="prod")
    with pytest.raises(errors.Unauthenticated, match="not valid"):
        tokens.redeem(token, "web", environment="dev")
    clock.now += 60
    with pytest.raises(errors.Unauthenticated, match="expired"):
        tokens.redeem(token, "cli", environment="dev")


def test_web_token_works_once_and_forged_tokens_fail():
    tokens = Tokens()
    token = tokens.issue("web", environment="dev", principal="bob", role="Viewer")
    assert tokens.redeem(token, "web", environment="dev").role == "Viewer"
    with pytest.raises(errors.Unauthenticated, match="already used"):
        tokens.redeem(token, "web", environment="dev")
    for forged in ("", token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 43):
        with pytest.raises(errors.Unauthenticated, match="not valid"):
            tokens.redeem(forged, "web", environment="dev")


def test_supported_cli_commands():
    assert cli_commands.parse("dags trigger my_dag --conf '{\"a\": 1}'", major=3) == \
        ["dags", "trigger", "my_dag", "--conf", '{"a": 1}']
    assert cli_commands.parse("airflow version", major=3) == ["version"]
    assert cli_commands.parse("tasks run d t r", major=2)[:2] == ["tasks", "run"]
    with pytest.raises(errors.Invalid, match="not supported: tasks run"):
        cli_commands.parse("tasks run d t r", major=3)
    with pytest.raises(errors.Invalid, match="not supported: users"):
        cli_commands.parse("users create --role Admin", major=3)
    with pytest.raises(errors.Invalid, match="not supported: db reset"):
        cli_commands.parse("db reset -y", major=2)
    with pytest.raises(errors.Invalid, match="cannot be parsed"):
        cli_commands.parse("dags list 'unclosed", major=3)
    with pytest.raises(errors.Invalid, match="command line"):
        cli_commands.parse("  ", major=3)
