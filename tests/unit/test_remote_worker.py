"""The pure parts of a remote worker host: which environments hosts may join, what a host may read,
the spec it rebuilds, and its worker's variables and command line (no database, no secret on the
command line, the environment's options under what Aerodrome owns)."""

from pathlib import Path

import pytest

from aerodrome import errors
from aerodrome.domain import worker_join, worker_tokens
from aerodrome.domain.spec import EnvironmentSpec, TeamConfig
from aerodrome.runtimes.local import redis, remote_worker
from aerodrome.runtimes.local.remote_worker import HostFolders, Joined

PASSWORD = "s3cret-broker-password"


def spec(**changes) -> EnvironmentSpec:
    base = EnvironmentSpec(name="dev", execution_role_arn="r", source_bucket_arn="arn:aws:s3:::b", dag_s3_path="dags",
                           airflow_version="3.3.2", plugins_s3_path="plugins.zip", plugins_s3_object_version="v1",
                           airflow_configuration_options={"core.default_task_retries": "2",
                                                          "celery.broker_url": "redis://elsewhere"})
    return base.replace(**changes)


def answer(**changes) -> dict:
    return {"Environment": "dev", "TokenId": "0123456789abcdef", "Host": "edge-1", "Queue": "gpu",
            "AirflowVersion": "3.3.2", "Spec": worker_join.worker_spec(spec()),
            "BrokerUrl": f"rediss://host-0123456789abcdef:{PASSWORD}@10.0.0.1:7000/0", "BrokerCa": "CA",
            "ExecutionApiUrl": "https://plane:8801/execution/", "WebCa": "WEB CA", "Region": "eu-west-1", **changes}


def test_hosts_join_airflow_3_environments_without_teams():
    assert worker_join.refusal(spec()) is None
    assert "Airflow 2.11.2" in worker_join.refusal(spec(airflow_version="2.11.2"))
    teams = {"data": TeamConfig(source_bucket_arn="arn:aws:s3:::b", dag_s3_path="team")}
    assert "multi-team" in worker_join.refusal(spec(teams=teams))
    # hosts elsewhere reach the Execution API through the web endpoint: not one on loopback only
    assert worker_join.refusal(spec(), worker_address="127.0.0.1") is None
    assert "is PRIVATE_ONLY" in worker_join.refusal(spec(), worker_address="10.0.0.1")
    assert worker_join.refusal(spec(webserver_access_mode="PUBLIC_ONLY"), worker_address="10.0.0.1") is None


def test_a_host_reads_its_dag_prefix_and_pinned_files_only():
    s = spec(requirements_s3_path="requirements.txt")
    assert [key for key in ("dags/a.py", "dags/sub/b.py", "plugins.zip", "requirements.txt", "dags-old/x.py",
                            "other.txt", "dags/") if worker_join.readable(s, key)] == [
        "dags/a.py", "dags/sub/b.py", "plugins.zip", "requirements.txt"]
    assert worker_join.dag_prefix(spec(dag_s3_path="/dags/")) == "dags/"


def test_the_spec_a_host_rebuilds_keeps_what_its_worker_needs():
    rebuilt = worker_join.from_worker_spec("dev", worker_join.worker_spec(spec()))
    original = spec()
    for field in ("airflow_version", "environment_class", "dag_s3_path", "plugins_s3_path", "plugins_s3_object_version",
                  "airflow_configuration_options", "source_bucket_arn"):
        assert getattr(rebuilt, field) == getattr(original, field), field


def test_a_joined_token_serves_only_its_host_until_revoked():
    token = worker_tokens.WorkerToken(token_id="0123456789abcdef", environment="dev", queue="gpu",
                                      secret_hash=worker_tokens.hash_secret("s"), created_at=0, expires_at=1,
                                      created_by="admin", host="edge-1", joined_at=0.5)
    assert worker_tokens.joined(token, "s", host="edge-1") == token  # past its joining deadline: still its host's
    for stored, secret, host, message in ((token, "x", "edge-1", "not issued"), (None, "s", "edge-1", "not issued"),
                                          (token, "s", "edge-2", "has not joined"),
                                          (token.__class__(**{**token.__dict__, "revoked_at": 2.0}), "s", "edge-1",
                                           "was revoked")):
        with pytest.raises(errors.AccessDenied, match=message):
            worker_tokens.joined(stored, secret, host=host)


def test_a_hosts_worker_has_as_many_slots_as_the_classs_workers_unless_told():
    assert remote_worker.concurrency_of(spec(environment_class="mw1.large")) == \
        remote_worker.airflow_env.WORKER_CONCURRENCY["mw1.large"]


def test_the_workers_variables_have_no_database_and_the_environments_options_below_aerodromes():
    joined = Joined.from_answer(answer())
    folders = HostFolders(Path("/h"), "dev")
    env = remote_worker.worker_env(joined, folders, api_url="http://plane:8700/", concurrency=3,
                                   base={"PATH": "/v/bin"},
                                   staged={"AIRFLOW__CORE__PLUGINS_FOLDER": "/h/environments/dev/plugins/x"})
    assert not any("SQL_ALCHEMY" in key or "DATABASE" in key or "FERNET" in key or "JWT" in key for key in env)
    assert env["AIRFLOW__CELERY__BROKER_URL"] == joined.broker_url  # not the user's option
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == (
        f"{joined.broker_url}?ssl_cert_reqs=required&ssl_ca_certs=%2Fh%2Fenvironments%2Fdev%2Fsecrets%2Fbroker-ca.pem")
    assert (env["AIRFLOW__CELERY__SSL_ACTIVE"], env["AIRFLOW__CELERY__SSL_MUTUAL_TLS"]) == ("True", "False")
    assert env["AIRFLOW__CELERY__SSL_CACERT"] == "/h/environments/dev/secrets/broker-ca.pem"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "https://plane:8801/execution/"
    assert env["AIRFLOW__API__SSL_CA_FILE"] == "/h/environments/dev/secrets/web-ca.pem"
    assert env["AIRFLOW__CELERY__WORKER_AUTOSCALE"] == "3,3"
    assert env["AIRFLOW__CORE__DEFAULT_TASK_RETRIES"] == "2"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/h/environments/dev/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/h/environments/dev/plugins/x"
    assert env[remote_worker.HOST_VARIABLE] == "edge-1" and env["PATH"] == "/v/bin"
    assert PASSWORD not in repr(joined)
    # tasks act as the execution role, showing the host's join token, and call the plane for AWS APIs
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://plane:8700/aerodrome/v1/role-credentials"
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == "/h/environments/dev/secrets/join.token"
    assert env["AWS_ENDPOINT_URL_STS"] == "http://plane:8700" and env["AWS_REGION"] == "eu-west-1"
    assert "REQUESTS_CA_BUNDLE" not in env  # the public roots stay the trusted ones
    plain = remote_worker.worker_env(Joined.from_answer({**answer(), "WebCa": None}), folders, api_url="http://p",
                                     concurrency=1, base={}, staged={})
    assert "AIRFLOW__API__SSL_CA_FILE" not in plain  # an endpoint over plain HTTP


def test_the_worker_consumes_the_tokens_queue_and_its_command_line_holds_no_secret():
    joined = Joined.from_answer(answer())
    argv = remote_worker.worker_argv(joined, Path("/v"), concurrency=4)
    assert argv[:3] == ["/v/bin/airflow", "celery", "worker"]
    assert argv[argv.index("--queues") + 1] == "gpu" and argv[argv.index("--concurrency") + 1] == "4"
    assert argv[argv.index("--celery-hostname") + 1] == "remote-0123456789abcdef@edge-1"
    assert "--skip-serve-logs" in argv
    assert not any(PASSWORD in part for part in argv)


def test_an_answer_without_a_broker_or_an_unknown_version_starts_nothing():
    with pytest.raises(errors.Permanent, match="lacks BrokerCa, BrokerUrl"):
        Joined.from_answer({k: v for k, v in answer().items() if not k.startswith("Broker")})
    with pytest.raises(errors.Permanent, match="cannot build Airflow 9.9.9"):
        remote_worker.check_version("9.9.9")
    remote_worker.check_version("3.3.2")


def test_a_hosts_broker_user_reaches_its_queue_and_celerys_bookkeeping():
    keys = redis.host_keys("gpu")
    assert keys[:2] == ["gpu", "gpu\x06\x16*"]
    assert "celery-task-meta-*" in keys and "_kombu.binding.*" in keys and "default" not in keys
    assert redis.host_keys(None) == ["*"]  # a host let in before queues were kept


def test_a_changed_spec_starts_a_new_worker_first_and_drains_the_old_one(tmp_path):
    import threading

    from aerodrome.runtimes.local import contents, remote_host
    from tests.support import wait_for

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "airflow"  # stands for `airflow celery worker`: a warm shutdown on SIGTERM
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/argv-$$\n"
                    f"trap 'echo warm > {tmp_path}/stopped-$$; exit 0' TERM\nwhile :; do sleep 0.05; done\n")
    fake.chmod(0o755)
    folders = HostFolders(tmp_path / "home", "dev")
    folders.root.mkdir(parents=True)
    said = []
    workers = remote_host.HostWorkers(folders, api_url="http://p", concurrency=1, say=said.append)
    staged = contents.Staged(plugins_dir=tmp_path)
    first = Joined.from_answer(answer())
    assert workers.start(first, venv=venv, staged=staged)

    def update_then_leave():  # run() takes the signals, so it runs in the main thread
        wait_for(lambda: len(list(tmp_path.glob("argv-*"))) == 1, timeout=10, interval=0.05, what="the first worker")
        workers.start(Joined.from_answer(answer()), venv=venv, staged=staged)
        wait_for(lambda: len(list(tmp_path.glob("stopped-*"))) == 1, timeout=10, interval=0.05, what="the old one")
        assert len(list(tmp_path.glob("argv-*"))) == 2  # the new one started before the old one drained
        workers.drain()
        workers.drain()  # again: nothing more

    thread = threading.Thread(target=update_then_leave)
    thread.start()
    assert workers.run() == 0
    thread.join(10)
    hostnames = sorted(path.read_text().split("--celery-hostname ")[1].split()[0] for path in tmp_path.glob("argv-*"))
    assert hostnames == ["remote-0123456789abcdef.2@edge-1", "remote-0123456789abcdef@edge-1"]
    assert len(list(tmp_path.glob("stopped-*"))) == 2 and sum("draining" in line for line in said) == 1
    assert not (folders.root / "join.pid").exists()
    assert not workers.start(first, venv=venv, staged=staged)  # a host that left starts nothing
