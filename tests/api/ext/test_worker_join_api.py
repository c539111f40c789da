"""What a joining host is told and may read, through the in-process API with a real HTTP client: the
join answer carries the environment's worker spec, the Execution API behind its HTTPS web endpoint
and that endpoint's CA, and no database address; an Airflow 2 environment refuses hosts without
recording one; a joined host mirrors its DAG prefix with the main host's bucket sync, reading
through the plane with its token, and nothing else of the bucket, and not once it is revoked; its
tasks get the execution role's credentials with the same token, until it is revoked."""

import base64
import json

import httpx
import pytest

from aerodrome import errors
from aerodrome.bundles import sync
from aerodrome.bundles.plane import PlaneBucket
from aerodrome.cli import join as join_cli
from aerodrome.cli.ext_client import PREFIX, ExtClient
from aerodrome.domain.worker_join import from_worker_spec
from aerodrome.store import environments
from tests.api.ext.conftest import WEB_CA
from tests.support import minimal


def post(plane, path, body) -> httpx.Response:
    return httpx.post(f"{plane['url']}{PREFIX}/workers/{path}", json=body, timeout=10)


@pytest.fixture
def bucket(plane):
    folder = plane["settings"].buckets_dir / "my-bucket"
    for key, text in {"dags/a.py": "a = 1\n", "dags/sub/b.py": "b = 2\n", "other/secret.txt": "not the host's",
                      "requirements.txt": "boto3\n"}.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_text(text)
    return folder


def test_the_answer_tells_the_host_what_its_worker_runs_with_and_no_database(plane, mwaa, bucket):
    mwaa.create_environment(**minimal(Name="dev", AirflowVersion="3.3.2", RequirementsS3Path="requirements.txt",
                                      AirflowConfigurationOptions={"core.default_task_retries": "2"}))
    issued = ExtClient(plane["settings"]).request("POST", "/environments/dev/worker-tokens", body={"Queue": "gpu"})
    answer = join_cli.handshake(plane["url"], issued["Token"], "edge-1")
    with plane["store"].session() as session:
        placement = environments.get("dev", session=session).placement
    assert answer["ExecutionApiUrl"] == f"https://localhost:{placement.endpoint_port}/execution/"
    assert answer["WebCa"] == WEB_CA
    spec = from_worker_spec("dev", answer["Spec"])
    assert (spec.airflow_version, spec.dag_s3_path, spec.requirements_s3_path) == ("3.3.2", "dags", "requirements.txt")
    assert spec.requirements_s3_object_version  # pinned when the environment was created
    assert spec.airflow_configuration_options == {"core.default_task_retries": "2"}
    text = json.dumps(answer).lower()
    assert "postgres" not in text and "sql_alchemy" not in text and "fernet" not in text


def test_an_airflow_2_environment_refuses_hosts_and_records_none(plane, mwaa):
    mwaa.create_environment(**minimal(Name="old", AirflowVersion="2.11.2"))
    issued = ExtClient(plane["settings"]).request("POST", "/environments/old/worker-tokens", body={})
    with pytest.raises(errors.Invalid, match="runs Airflow 2.11.2; remote worker hosts join Airflow 3"):
        join_cli.handshake(plane["url"], issued["Token"], "edge-1")
    listed = ExtClient(plane["settings"]).request("GET", "/environments/old/worker-tokens")
    assert [t["State"] for t in listed["Tokens"]] == ["unused"]


def test_a_joined_host_mirrors_its_dags_through_the_plane_and_reads_nothing_else(plane, mwaa, bucket, tmp_path):
    mwaa.create_environment(**minimal(Name="dev", RequirementsS3Path="requirements.txt"))
    token = ExtClient(plane["settings"]).request("POST", "/environments/dev/worker-tokens", body={})
    body = {"Token": token["Token"], "Host": "edge-1"}
    refused = post(plane, "objects", body)  # not joined yet
    assert refused.status_code == 403 and "has not joined" in refused.json()["message"]
    join_cli.handshake(plane["url"], token["Token"], "edge-1")

    host = PlaneBucket(plane["url"], token=token["Token"], host="edge-1")
    try:
        result = sync.sync_prefix(host, "dags/", tmp_path / "dags")
        assert sorted(result.added) == ["a.py", "sub/b.py"]
        assert (tmp_path / "dags" / "sub" / "b.py").read_text() == "b = 2\n"
        assert host.get("requirements.txt") == b"boto3\n"  # a pinned file
        with pytest.raises(errors.AccessDenied, match="may not read 'other/secret.txt'"):
            host.get("other/secret.txt")
        with pytest.raises(errors.AccessDenied):
            host.put("dags/c.py", b"")
        (bucket / "dags" / "c.py").write_text("c = 3\n")
        assert sync.sync_prefix(host, "dags/", tmp_path / "dags").added == ("c.py",)
    finally:
        host.close()

    current = post(plane, "spec", body)  # what the host's workers run now (it replaces them on a change)
    assert current.status_code == 200 and current.json()["Spec"]["RequirementsS3Path"] == "requirements.txt"
    read = post(plane, "object", {**body, "Key": "dags/a.py"})
    assert read.status_code == 200 and base64.b64decode(read.json()["Body"]) == b"a = 1\n"
    other_host = post(plane, "object", {**body, "Host": "edge-2", "Key": "dags/a.py"})
    assert other_host.status_code == 403 and "has not joined" in other_host.json()["message"]
    ExtClient(plane["settings"]).request("DELETE", f"/environments/dev/worker-tokens/{token['TokenId']}")
    for path in ("objects", "spec"):
        revoked = post(plane, path, body)
        assert revoked.status_code == 403 and "was revoked" in revoked.json()["message"]
    unknown = post(plane, "objects", {**body, "Key": "x"})
    assert unknown.status_code == 400 and "Unknown member(s): Key" in unknown.json()["message"]


def test_tasks_on_a_joined_host_act_as_the_execution_role_until_the_token_is_revoked(plane, mwaa):
    from aerodrome.services.execution_roles import ExecutionRoleService
    from aerodrome.services.worker_tokens import WorkerTokenService

    mwaa.create_environment(**minimal(Name="dev"))
    tokens = WorkerTokenService(store=plane["store"])
    roles = ExecutionRoleService(store=plane["store"], role_token=lambda placement: None, region="us-east-1",
                                 account="123456789012", host_environment=tokens.environment_of)
    issued = tokens.issue("dev")
    with pytest.raises(errors.AccessDenied, match="has not joined"):
        roles.credentials(issued["Token"])
    tokens.join(issued["Token"], host="edge-1")
    credentials = roles.credentials(issued["Token"])
    assert credentials["AccessKeyId"].startswith("ASIA") and credentials["RoleArn"].endswith(":role/airflow")
    tokens.revoke("dev", issued["TokenId"])
    with pytest.raises(errors.AccessDenied, match="was revoked"):
        roles.credentials(issued["Token"])


def test_join_refusals_say_why_and_start_nothing(plane, mwaa, capsys, tmp_path, monkeypatch):
    from aerodrome.cli import main

    mwaa.create_environment(**minimal(Name="old", AirflowVersion="2.11.2"))
    mwaa.create_environment(**minimal(Name="dev"))
    client = ExtClient(plane["settings"])
    old = client.request("POST", "/environments/old/worker-tokens", body={})
    dev = client.request("POST", "/environments/dev/worker-tokens", body={})
    client.request("DELETE", f"/environments/dev/worker-tokens/{dev['TokenId']}")
    home = tmp_path / "host"

    def join(*args):
        code = main(["worker", "join", "--home", str(home), "--host-name", "edge-1", *args])
        return code, capsys.readouterr().err

    for args, message in (
            (["--endpoint", plane["url"], "--token", old["Token"]], "runs Airflow 2.11.2"),
            (["--endpoint", plane["url"], "--token", dev["Token"]], "was revoked at"),
            (["--endpoint", plane["url"], "--token", "adw1.0123456789abcdef." + "x" * 43], "not issued by this"),
            (["--endpoint", plane["url"], "--token", old["Token"], "--environment", "dev"], "is for environment old"),
            (["--endpoint", "http://127.0.0.1:1", "--token", old["Token"]], "cannot reach the control plane"),
            (["--endpoint", plane["url"]], "give the join token with --token")):
        code, err = join(*args)
        assert code == 1 and message in err, (args, err)
    monkeypatch.setenv("AERODROME_JOIN_TOKEN", old["Token"])  # the token from the environment, not argv
    assert join("--endpoint", plane["url"])[1].count("runs Airflow 2.11.2") == 1
    assert not home.exists()  # nothing prepared, nothing started
