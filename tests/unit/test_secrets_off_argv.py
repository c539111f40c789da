"""Secrets never reach a command line: SQL that sets a password goes to psql on stdin, and Airflow 2's
users are created with the password typed into the command's prompt. The real commands run in the
end-to-end tests (every database and every Airflow 2 user is made this way)."""

import subprocess

from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import fab
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.settings import Settings


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")


def test_sql_that_sets_a_password_goes_in_on_stdin(tmp_path, monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(subprocess, "run", recorder)
    server = Postgres(Settings(home=tmp_path, postgres_url="postgresql://root:pw@127.0.0.1:5/postgres"), None)
    server.sql("CREATE ROLE env_x LOGIN PASSWORD 'very-secret'")
    (argv, kwargs), = recorder.calls
    assert not any("very-secret" in word or word == "pw" for word in argv)
    assert kwargs["input"] == "CREATE ROLE env_x LOGIN PASSWORD 'very-secret'"
    assert kwargs["env"]["PGPASSWORD"] == "pw"


class Bridge:
    def __init__(self):
        self.calls = []

    def run(self, spec, placement, *args, stdin=""):
        self.calls.append((args, stdin))
        return subprocess.CompletedProcess(args, 0, stdout="", stderr="")


def test_airflow_2_users_get_their_password_through_the_prompt(tmp_path):
    bridge = Bridge()
    placement = Placement(env_id="e1", root=tmp_path, web_port=1, broker_db=1)
    spec = EnvironmentSpec(name="dev", execution_role_arn="arn:aws:iam::1:role/r",
                           source_bucket_arn="arn:aws:s3:::b", dag_s3_path="dags", airflow_version="2.11.2")
    user, password = fab.FabUsers(bridge).role_login(spec, placement, "Viewer")
    (args, stdin), = bridge.calls
    assert args[:2] == ("users", "create") and password not in " ".join(args)
    assert stdin == f"{password}\n{password}\n"  # `users create` asks for it twice
