"""Remote worker hosts against a running control plane and a real Airflow 3.3.2 environment: a join
token from `aerodrome worker token`, the handshake over the plane's API, and with the answer a host
reaches the environment's own broker over TLS (it sees the queue bindings the environment's Celery
workers declared) and the execution API through the environment's HTTPS endpoint (where Airflow 3
workers send task state, with the tasks' own tokens); `aerodrome worker revoke` ends the broker
connection and a second handshake is refused. (A host running Celery workers with
`aerodrome worker join` is proven by hand so far: docs/scale-out.md.)"""

import ssl
import uuid

import httpx
import pytest
import redis as redis_py

from aerodrome.cli.ext_client import PREFIX
from tests.support import aerodrome, bash_dags, create

pytestmark = pytest.mark.e2e


def test_a_joined_host_reaches_the_environments_broker_until_revoked(plane, clients, tmp_path):
    mwaa, s3 = clients
    env = create(mwaa, s3, "remote", "remote-bucket", bash_dags(quick="echo ok"), AirflowVersion="3.3.2")
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    issued = aerodrome(plane.settings.home, "worker", "token", "remote", "--queue", "gpu", "--ttl", "10m")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.splitlines()[0]
    assert token.startswith("adw1.")

    reply = httpx.post(f"{plane.settings.endpoint_url}{PREFIX}/workers/join",
                       json={"Token": token, "Host": "host-a", "Environment": "remote"}, timeout=30)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["Environment"], answer["AirflowVersion"], answer["Queue"]) == ("remote", "3.3.2", "gpu")
    ca = tmp_path / "broker-ca.pem"
    ca.write_text(answer["BrokerCa"])
    host = redis_py.Redis.from_url(answer["BrokerUrl"], ssl_ca_certs=str(ca), socket_timeout=10)
    assert host.ping()
    # the environment's own broker: its Celery workers declared the default queue's binding there
    assert host.exists("_kombu.binding.default")
    marker = f"celery-task-meta-from-host-a-{uuid.uuid4().hex}"  # a task result, which hosts write
    host.set(marker, "1")
    assert host.delete(marker) == 1
    with pytest.raises(redis_py.exceptions.NoPermissionError):
        host.llen("default")  # another queue's messages are not the host's

    # the execution API behind the HTTPS endpoint, authenticated by Airflow itself
    web = f"https://{env['WebserverUrl']}/execution"
    bundle = ssl.create_default_context(cafile=str(plane.settings.tls_dir / "bundle.pem"))
    assert httpx.get(f"{web}/health", verify=bundle, timeout=30).status_code == 200
    untokened = httpx.put(f"{web}/task-instances/{uuid.uuid4()}/heartbeat", json={}, verify=bundle, timeout=30)
    assert untokened.status_code in (401, 403), untokened.text

    listed = aerodrome(plane.settings.home, "worker", "tokens", "remote")
    assert "joined" in listed.stdout and "host-a" in listed.stdout
    token_id = token.split(".")[1]
    revoked = aerodrome(plane.settings.home, "worker", "revoke", "remote", token_id)
    assert f"token {token_id} of remote: revoked at" in revoked.stdout
    with pytest.raises(redis_py.exceptions.ConnectionError):
        host.ping()  # its open connection ended with the revocation
    again = httpx.post(f"{plane.settings.endpoint_url}{PREFIX}/workers/join",
                       json={"Token": token, "Host": "host-a"}, timeout=30)
    assert again.status_code == 403 and "was revoked at" in again.json()["message"]
