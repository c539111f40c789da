"""Helpers shared by the tests (one place: test modules import from here, never from each other).

The end-to-end helpers reach Aerodrome only through its public surface (Settings, ControlPlane,
the MWAA and S3 APIs, the CLI, each environment's placement and Airflow REST API), so a rename in
src/ touches this file alone."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import boto3
import httpx
from botocore.config import Config
from sqlalchemy import select

from aerodrome.domain.environment import LastUpdate
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import Status
from aerodrome.runtimes.local import airflow_env
from aerodrome.store import environments as rows
from aerodrome.store.tables import OutboxRow

# Airflow venvs are reused across runs (they take a minute or two to build the first time). As root,
# environments run as their own OS users, who must reach the venvs: not under root's private home.
VENVS = Path(os.environ.get("AERODROME_TEST_VENVS", Path("/var/cache/aerodrome/test-venvs") if os.geteuid() == 0
                            else Path.home() / ".cache" / "aerodrome" / "test-venvs"))
NETWORK = {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}
ROLE = "arn:aws:iam::000000000000:role/airflow"
UNPAUSED = {"core.dags_are_paused_at_creation": "False"}
SETTLED = ("AVAILABLE", "UPDATE_FAILED", "UNAVAILABLE")


# --- waiting ---------------------------------------------------------------------------------------
def wait_for(predicate, *, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def ask(question):
    """A predicate for wait_for that treats a slow or restarting API (a loaded host) as "not yet"."""
    def asked():
        try:
            return question()
        except (httpx.TransportError, ValueError, KeyError, OSError):
            return None
    return asked


# --- ports and servers -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_ports() -> dict:
    """A port range for environments away from the default one other control planes on this host use,
    and from those of the other test processes (pytest-xdist workers take a band each)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    band = 20000 + (worker % 4) * 2500
    low = random.randrange(band, band + 2400)
    return {"env_port_min": low, "env_port_max": low + 50}


@contextlib.contextmanager
def serve_asgi(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


# --- unit tests ------------------------------------------------------------------------------------
PLACEMENT = Placement(env_id="e1", root=Path("/srv/e1"), web_port=8801, broker_db=3)
WIRING = airflow_env.Wiring(database_url="postgresql+psycopg2://u:p@127.0.0.1:5/env_e1",
                            broker_url="redis://:pw@127.0.0.1:6/3", fernet_key="f", jwt_secret="j",
                            web_secret="w", passwords_file="/srv/e1/secrets/passwords.json")


def env_of(s, component="worker"):
    """The variables a component of an environment with spec `s` gets (a fixed placement and wiring)."""
    return airflow_env.component_env(s, PLACEMENT, WIRING, component=component, base={"PATH": "/bin"})


def add(store, name="dev"):
    """A CREATING environment row, as CreateEnvironment leaves it."""
    spec = EnvironmentSpec(name=name, execution_role_arn="arn:aws:iam::000000000000:role/x",
                           source_bucket_arn="arn:aws:s3:::b", dag_s3_path="dags")
    with store.session() as session:
        rows.insert(rows.EnvironmentRecord(
            name=name, env_id="e1" + name, arn=f"arn:aws:airflow:us-east-1:000000000000:environment/{name}",
            status=Status.CREATING, generation=1, applied_generation=0, spec=spec, applied_spec=None,
            placement=Placement(env_id="e1", root=Path("/x"), web_port=8800, broker_db=1), tags={},
            created_at=1.0, last_update=LastUpdate(status="PENDING", created_at=1.0)), session=session)
    return spec


def sync_world(settings, store, tmp_path):
    """(syncs, events, spec, placement): the real DAG sync loops (every 0.1 s) of the row `add` makes,
    recording sync events, into a placement under `tmp_path`."""
    from aerodrome.reconcile.syncs import BucketSyncs
    from aerodrome.services.events import EventService

    settings = settings.replace(sync_interval=0.1)
    recorded = EventService(store=store, settings=settings)
    syncs = BucketSyncs(settings, on_sync=recorded.record_sync)
    spec = add(store, "dev")  # bucket "b", DAG prefix "dags"
    return syncs, recorded, spec, Placement(env_id="e1", root=tmp_path / "env", web_port=8800, broker_db=1)


def events(store):
    """(environment, payload) of every outbox entry, in order."""
    with store.session() as session:
        entries = session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [(r.environment, json.loads(r.payload)) for r in entries]


# --- API tests (the real MWAA app without a reconciler) ------------------------------------------------
class Wakes(list):
    def __call__(self, name):
        self.append(name)


def minimal(**extra):
    request = {
        "Name": "dev",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/airflow",
        "SourceBucketArn": "arn:aws:s3:::my-bucket",
        "DagS3Path": "dags",
        "NetworkConfiguration": {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]},
    }
    request.update(extra)
    return request


def aws_cli(control_plane, tmp_path, *args):
    """The AWS CLI configured only by environment variables, against an API test's control plane."""
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_ENDPOINT_URL_MWAA": control_plane["url"], "AWS_ENDPOINT_URL_STS": control_plane["url"],
        "AWS_ENDPOINT_URL_CLOUDWATCH": control_plane["url"], "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": control_plane["url"],
        "AWS_ACCESS_KEY_ID": control_plane["key"],
        "AWS_SECRET_ACCESS_KEY": control_plane["secret"], "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    result = subprocess.run([sys.executable, "-m", "awscli", *args], env=env, capture_output=True, text=True,
                            timeout=120)
    return result


def error_of(call, **kwargs):
    """(AWS error code, message) of a call that must fail."""
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["Error"]["Message"]
    raise AssertionError("the call did not fail")


S3_KEY = "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
S3_SECRET = secrets.token_urlsafe(30)


def s3_bucket(server, name, *, key=S3_KEY, secret=S3_SECRET):
    """Aerodrome's S3 bucket adapter on a served S3 endpoint."""
    from aerodrome.bundles.s3 import S3Bucket

    return S3Bucket(name, endpoint_url=server.url, access_key_id=key, secret_access_key=secret)


# --- control planes --------------------------------------------------------------------------------
@contextlib.contextmanager
def database_server(home: Path):
    """One embedded PostgreSQL server for a whole test session; yields the superuser URL that control
    planes take as `postgres_url` (so each Airflow version's template database is migrated once)."""
    from aerodrome.runtimes.local.postgres import Postgres
    from aerodrome.runtimes.local.supervisor import Supervisor
    from aerodrome.settings import Settings

    supervisor = Supervisor()
    # a port of the OS's choosing: test processes starting servers at once must not pick the same one
    (home / "services" / "postgres").mkdir(parents=True, exist_ok=True)
    (home / "services" / "postgres" / "port").write_text(str(free_port()))
    server = Postgres(Settings(home=home, serve_s3=False), supervisor)
    try:
        server.ensure_running()
        password = (home / "services" / "postgres" / "superuser.secret").read_text().strip()
        yield f"postgresql://postgres:{password}@{server.address}/postgres"
    finally:
        supervisor.close()


def plane_settings(home: Path, **overrides):
    from aerodrome.settings import Settings

    return Settings(home=home, port=free_port(), s3_port=free_port(), console_port=free_port(), venv_root=VENVS,
                    resync_interval=2.0, **{**env_ports(), **overrides})


@contextlib.contextmanager
def running_plane(home: Path, **settings_overrides):
    """A started control plane with its home at `home`, closed on exit; overrides go to its Settings."""
    from aerodrome.app import ControlPlane

    control_plane = ControlPlane(plane_settings(home, **settings_overrides))
    control_plane.start()
    try:
        yield control_plane
    finally:
        control_plane.close()


def clients_of(plane, key=None, secret=None):
    """(mwaa, s3) boto3 clients for a running control plane, as its admin unless a key is given."""
    if key is None:
        key, secret = plane.credentials.admin()
    config = Config(inject_host_prefix=False, retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    common = {"aws_access_key_id": key, "aws_secret_access_key": secret, "region_name": "us-east-1", "config": config}
    return (boto3.client("mwaa", endpoint_url=plane.settings.endpoint_url, **common),
            boto3.client("s3", endpoint_url=f"http://127.0.0.1:{plane.settings.s3_port}", **common))


def aerodrome(home: Path, *args: str, timeout: float = 900, extra_env: dict | None = None):
    """`aerodrome ARGS` against the control plane whose home is `home` (a CompletedProcess)."""
    env = {**os.environ, "AERODROME_HOME": str(home), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "aerodrome.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def start_up(home: Path, port: int, s3_port: int, postgres_url: str | None = None) -> subprocess.Popen:
    """`aerodrome up` as its own process; returns once it serves."""
    env = {**os.environ, "AERODROME_HOME": str(home), "AERODROME_PORT": str(port),
           "AERODROME_S3_PORT": str(s3_port), "AERODROME_CONSOLE_PORT": str(free_port()),
           "AERODROME_VENVS_DIR": str(VENVS)}
    if postgres_url:
        env["AERODROME_POSTGRES_URL"] = postgres_url
    (home / "endpoint.json").unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "aerodrome.cli", "up", "--no-demo"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: (home / "endpoint.json").exists() or process.poll() is not None, timeout=60, what="up")
    assert process.poll() is None, "aerodrome up exited"
    return process


def mwaa_of_home(home: Path, port: int):
    """An admin MWAA client for an `aerodrome up` process (credentials read from its store)."""
    from aerodrome.auth.sealed import Sealer
    from aerodrome.services.credentials import CredentialService
    from aerodrome.store.db import Store

    store = Store(f"sqlite:///{home / 'aerodrome.db'}", sealer=Sealer(home / "store.key"))
    key, secret = CredentialService(store=store).admin()
    store.close()
    return boto3.client("mwaa", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))


def placement_of_home(home: Path, name: str):
    from aerodrome.store.db import Store

    store = Store(f"sqlite:///{home / 'aerodrome.db'}")
    with store.session() as session:
        placement = rows.get(name, session=session).placement
    store.close()
    return placement


def processes_mentioning(text: str) -> list:
    import psutil

    return [p for p in psutil.process_iter(["cmdline"]) if text in " ".join(p.info["cmdline"] or [])]


# --- environments ----------------------------------------------------------------------------------
def status(mwaa, name: str) -> str:
    return mwaa.get_environment(Name=name)["Environment"]["Status"]


def create(mwaa, s3, name, bucket, dag, *, dag_file="dag.py", uploads=None, **extra):
    """A bucket holding one DAG (and any `uploads`, key -> bytes), and an environment created from it;
    the environment once it is no longer CREATING."""
    s3.create_bucket(Bucket=bucket)
    for key, body in {f"dags/{dag_file}": dag, **(uploads or {})}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    extra.setdefault("ExecutionRoleArn", ROLE)
    mwaa.create_environment(Name=name, SourceBucketArn=f"arn:aws:s3:::{bucket}", DagS3Path="dags",
                            NetworkConfiguration=NETWORK, **extra)
    wait_for(lambda: status(mwaa, name) != "CREATING", timeout=600, interval=1, what=f"{name} to be created")
    return mwaa.get_environment(Name=name)["Environment"]


def delete_environments(mwaa, names):
    """Delete environments and wait until they are gone."""
    for name in names:
        with contextlib.suppress(mwaa.exceptions.ClientError):  # gone, or already deleting
            mwaa.delete_environment(Name=name)
    wait_for(lambda: not set(mwaa.list_environments()["Environments"]) & set(names), timeout=300, interval=1,
             what=f"{sorted(names)} to be deleted")


def settle(mwaa, name, *, timeout: float = 600, settled=SETTLED):
    """Wait for `name` to reach a settled status; (that status, every status seen in order, no repeats)."""
    seen: list[str] = []

    def done():
        current = status(mwaa, name)
        if not seen or seen[-1] != current:
            seen.append(current)
        return current if current in settled else None

    return wait_for(done, timeout=timeout, interval=0.5, what=f"{name} to settle"), seen


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def bash_dags(**commands: str) -> str:
    """Airflow 3 DAG source: for each dag_id=command one manually triggered DAG with a BashOperator
    task "t" running the command."""
    header = ("import datetime\nfrom airflow.sdk import DAG\n"
              "from airflow.providers.standard.operators.bash import BashOperator\n")
    return header + "".join(
        f'with DAG("{dag_id}", start_date=datetime.datetime(2026, 1, 1), schedule=None, catchup=False):\n'
        f"    BashOperator(task_id=\"t\", bash_command={command!r})\n" for dag_id, command in commands.items())


def release_file(tmp_path: Path) -> Path:
    """Where a gated task looks for its release: the test's folder, which an environment's own OS user
    (under root) may pass through to see it, but not list."""
    from aerodrome.runtimes.local import os_users

    os_users.traversable(tmp_path)
    return tmp_path / "release"


def gated(dag: str, release: Path) -> bytes:
    """DAG source whose GATE placeholders become a bash command that waits until the test creates
    `release`: a task holds until the test has seen what it needs (in place of a fixed sleep)."""
    return dag.replace("GATE", f"while [ ! -f {release} ]; do sleep 0.2; done").encode()


# --- clients as users run them ---------------------------------------------------------------------
def mwaa_client(plane, key, secret):
    return boto3.client("mwaa", endpoint_url=plane.settings.endpoint_url, aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))


def available_environment(plane, env_vars, name, bucket, dag_file, dag, *, uploads=None, **extra):
    """Create an environment from a bucket holding one DAG (and any `uploads`, key -> bytes) with the
    clients `aerodrome client-env`'s variables configure, as a user would; the admin's MWAA client."""
    admin = mwaa_client(plane, env_vars["AWS_ACCESS_KEY_ID"], env_vars["AWS_SECRET_ACCESS_KEY"])
    s3 = boto3.client("s3", endpoint_url=env_vars["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                      aws_access_key_id=env_vars["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env_vars["AWS_SECRET_ACCESS_KEY"],
                      config=Config(s3={"addressing_style": "path"}))
    env = create(admin, s3, name, bucket, dag, dag_file=dag_file, uploads=uploads,
                 AirflowConfigurationOptions=UNPAUSED, **extra)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    return admin


def trusting(env_vars):
    """An SSL context that trusts what the exported CA bundle holds (and nothing is ignored)."""
    import ssl

    return ssl.create_default_context(cafile=env_vars["REQUESTS_CA_BUNDLE"])


def bridge(env_vars, host, token, command, *extra):
    """MWAA's documented curl call to the CLI bridge (certificate checked against the exported bundle);
    (HTTP status, body)."""
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--cacert", env_vars["REQUESTS_CA_BUNDLE"], "--request", "POST",
         f"https://{host}/aws_mwaa/cli", "--header", f"Authorization: Bearer {token}",
         "--header", "Content-Type: text/plain", "--data-raw", command, "--write-out", "\n%{http_code}", *extra],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    body, _, code = result.stdout.rpartition("\n")
    return int(code), body


def decoded(body):
    """The CLI bridge's answer: (stdout, stderr, exit code)."""
    answer = json.loads(body)
    return (base64.b64decode(answer["stdout"]).decode(), base64.b64decode(answer["stderr"]).decode(),
            answer["exit_code"])


def json_line(stdout: str):
    """The JSON list an `airflow ... -o json` command printed among its other lines."""
    return json.loads(next(line for line in stdout.splitlines() if line.startswith(("[{", "[]"))))


FETCH = """async ([method, path, body, form]) => {
  const headers = form ? {"Content-Type": "application/x-www-form-urlencoded"} : {"Content-Type": "application/json"};
  const payload = form ? new URLSearchParams(form).toString() : (body ? JSON.stringify(body) : undefined);
  const reply = await fetch(path, {method, headers, body: payload, credentials: "same-origin"});
  return {status: reply.status, text: await reply.text()};
}"""


def fetch(page, method, path, body=None, form=None):
    """A request made by a signed-in browser page itself (its cookie, its certificate checks)."""
    return page.evaluate(FETCH, [method, path, body, form])


# --- Airflow's own REST API ------------------------------------------------------------------------
class Airflow:
    """The environment's own REST API (Airflow 3, /api/v2), as its admin user."""

    def __init__(self, plane, name: str):
        self.placement = placement_of(plane, name)
        self.base = f"http://127.0.0.1:{self.placement.web_port}"
        user, password = plane.driver.web_login(self.placement)
        self.headers = self._login(user, password)

    api = "/api/v2"
    timeout = 30.0

    def _login(self, user: str, password: str) -> dict:
        def token():  # a fresh api-server on a loaded host may take its time over its first requests
            reply = httpx.post(f"{self.base}/auth/token", json={"username": user, "password": password},
                               timeout=self.timeout)
            return reply.json()["access_token"] if reply.status_code in (200, 201) else None
        return {"Authorization": f"Bearer {wait_for(ask(token), timeout=120, what='a token from Airflow')}"}

    def call(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.base}{self.api}{path}", headers=self.headers, json=body,
                             timeout=self.timeout)

    def get(self, path: str) -> httpx.Response:
        return self.call("GET", path)

    def post(self, path: str, body: dict) -> httpx.Response:
        return self.call("POST", path, body)

    def patch(self, path: str, body: dict) -> httpx.Response:
        return self.call("PATCH", path, body)

    def run_states(self, dag_id: str) -> list[str]:
        reply = self.get(f"/dags/{dag_id}/dagRuns")
        return [r["state"] for r in reply.json().get("dag_runs", [])] if reply.status_code == 200 else []

    def state(self, path: str) -> str:
        return self.get(path).json().get("state") or ""

    def failed_task_instances(self) -> int:
        reply = self.get("/dags/~/dagRuns/~/taskInstances?state=failed&state=upstream_failed")
        assert reply.status_code == 200, reply.text
        return reply.json()["total_entries"]


class Airflow2(Airflow):
    """Airflow 2's REST API under /api/v1 with basic auth."""

    api = "/api/v1"
    timeout = 10.0

    def _login(self, user: str, password: str) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Patient(Airflow):
    """The REST API with long timeouts and retried transport errors: the host is shared and busy."""

    timeout = 120.0

    def __init__(self, plane, name):
        init = super().__init__
        wait_for(lambda: _logs_in(init, plane, name), timeout=300, interval=2, what=f"{name}'s API")

    def call(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        for attempt in range(4):
            try:
                return super().call(method, path, body)
            except httpx.TransportError:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")


def _logs_in(init, plane, name) -> bool:
    try:
        init(plane, name)
    except httpx.HTTPError:
        return False
    return True


def connect(plane, name, kind=Airflow):
    """The environment's REST API once it answers (a busy host may take a while)."""
    return wait_for(ask(lambda: kind(plane, name)), timeout=180, what="the Airflow API")


def wait_for_dag(airflow, dag_id, timeout=180):
    wait_for(ask(lambda: airflow.get(f"/dags/{dag_id}").status_code == 200), timeout=timeout,
             what=f"the DAG {dag_id}")


def trigger(airflow, dag_id, body=None) -> str:
    """Trigger a run (Airflow 3 wants a logical_date key, Airflow 2 an empty body); its run id."""
    if body is None:
        body = {} if isinstance(airflow, Airflow2) else {"logical_date": None}
    run = airflow.post(f"/dags/{dag_id}/dagRuns", body)
    assert run.status_code == 200, run.text
    return run.json()["dag_run_id"]


def finished(airflow, path):
    """The run's (or task's) final state, or None (also when the loaded host makes the API answer slowly)."""
    try:
        state = airflow.get(path).json()["state"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    return state if state in ("success", "failed") else None


def wait_run(airflow, dag_id, run_id, timeout=300) -> str:
    return wait_for(lambda: finished(airflow, f"/dags/{dag_id}/dagRuns/{run_id}"), timeout=timeout,
                    what=f"{dag_id} run {run_id} to finish")


def trigger_and_wait(airflow, dag_id, timeout=300, body=None) -> str:
    """Trigger a run and wait for it; its final state."""
    return wait_run(airflow, dag_id, trigger(airflow, dag_id, body), timeout)


def unpause(airflow, dag_id):
    reply = airflow.patch(f"/dags/{dag_id}", {"is_paused": False})
    assert reply.status_code == 200, reply.text


def pids(placement) -> dict:
    """The environment's supervised components: name -> pid."""
    return {f.stem: json.loads(f.read_text())["pid"] for f in (placement.root / "run").glob("*.pid")}


# --- the runtime, as the tests look into it (one place to follow renames in src/) -------------------
def worker_pids(plane, placement) -> tuple[list[int], list[int]]:
    """(serving, draining) Celery worker pids of an environment."""
    return plane.driver.worker_pids(placement)


def worker_count(plane, name, placement) -> int:
    """How many workers the runtime runs for the environment's spec now."""
    return plane.driver.worker_count(plane.environments.get(name).spec, placement)


def busy_workers(plane, placement) -> int:
    """How many of the environment's workers (serving or draining) run a task now."""
    from aerodrome.runtimes.local import workers

    serving, draining = worker_pids(plane, placement)
    return sum(1 for pid in serving + draining if workers.busy_slots(pid))


def component_pid(plane, placement, component: str) -> int | None:
    """The pid the supervisor runs a component (e.g. scheduler-1) under."""
    return plane.driver.supervisor.state(f"{placement.env_id}/{component}")[1]


def metadata_server(plane):
    """The PostgreSQL server that holds the environments' databases."""
    return plane.driver.postgres


def airflow_cli(plane, name, *args):
    """`airflow ARGS` with the environment's configuration (a CompletedProcess)."""
    return plane.driver.airflow_cli(plane.environments.get(name).spec, placement_of(plane, name), *args)


def placement_of(plane, name):
    return plane.environments.placement(name)


def events_of(plane, name, detail_type=None) -> list[dict]:
    """The environment's events (EventBridge-shaped), oldest first; only `detail_type` when given."""
    return [e for _, e in plane.events.since(0, environment=name, limit=1000)
            if detail_type is None or e["detail-type"] == detail_type]


def env_processes(placement) -> list:
    """Processes whose working directory is inside the environment's folder."""
    import psutil

    root, found = str(placement.root), []
    for process in psutil.process_iter(["cwd"]):
        try:
            if process.info["cwd"] and process.info["cwd"].startswith(root):
                found.append(process)
        except psutil.Error:
            pass
    return found
