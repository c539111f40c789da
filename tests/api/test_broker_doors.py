"""Remote worker hosts' way into an environment's embedded broker: a TLS door in front of its Unix
socket, each host a Redis ACL user of its own. Real Redis, real TLS: Celery's commands work, the
server's administration does not, a dismissed host's open connection ends at once and its password
stops working, a restarted broker knows its hosts again, and the door listens on loopback unless
AERODROME_WORKER_ADDRESS names an address; from a simulated host (a network namespace joined by a
veth pair) the door is reachable on that address."""

import os
import shutil
import subprocess
import sys
import uuid

import pytest
import redis as redis_py

from aerodrome import errors
from aerodrome.app import door_certificates
from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local.broker_door import BrokerDoors
from aerodrome.runtimes.local.driver import LocalDriver
from aerodrome.runtimes.local.redis import Brokers
from aerodrome.runtimes.local.supervisor import Supervisor
from aerodrome.settings import Settings


@pytest.fixture
def broker(tmp_path):
    settings = Settings(home=tmp_path / "home", serve_s3=False)
    settings.environments_dir.mkdir(parents=True)
    supervisor = Supervisor()
    brokers = Brokers(settings, supervisor)
    placement = Placement(env_id="cafe0001", root=tmp_path / "env", web_port=1, broker_db=1)
    brokers.ensure(placement)
    try:
        yield settings, supervisor, brokers, placement
    finally:
        supervisor.close()


def host_client(url: str, ca_pem: str, tmp_path) -> redis_py.Redis:
    ca = tmp_path / f"ca-{uuid.uuid4().hex}.pem"
    ca.write_text(ca_pem)
    return redis_py.Redis.from_url(url, ssl_ca_certs=str(ca), ssl_cert_reqs="required", socket_timeout=5)


def test_a_host_gets_celerys_commands_over_tls_and_loses_them_when_dismissed(broker, tmp_path):
    settings, supervisor, brokers, placement = broker
    driver = LocalDriver(settings, door_certificates=lambda address: door_certificates(settings, address))
    try:
        answer = driver.admit_worker_host(placement, "host-0123456789abcdef", queue="default")
        url = answer["BrokerUrl"]
        assert url.startswith("rediss://host-0123456789abcdef:") and "@127.0.0.1:" in url
        host = host_client(url, answer["BrokerCa"], tmp_path)
        assert host.ping()
        host.lpush("default", "a task message")
        assert host.brpop(["default"], timeout=1) == (b"default", b"a task message")
        host.publish("celeryev", "hello")
        host.set("celery-task-meta-1", "a result")  # the result backend of Airflow 3 environments
        host.lpush("default\x06\x163", "a message of priority 3")
        # another queue's messages, and any other key, are not the host's
        for command in (("LPUSH", "gpu", "x"), ("GET", "some-key"), ("KEYS", "*")):
            with pytest.raises(redis_py.exceptions.NoPermissionError):
                host.execute_command(*command)
        for admin in (("CONFIG", "GET", "requirepass"), ("FLUSHALL",), ("ACL", "LIST"), ("SHUTDOWN",)):
            with pytest.raises(redis_py.exceptions.NoPermissionError):
                host.execute_command(*admin)
        # the door speaks TLS only, and only with its CA's certificate
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(redis_py.exceptions.ConnectionError):
            redis_py.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping()
        with pytest.raises(redis_py.exceptions.ConnectionError, match="certificate verify failed"):
            redis_py.Redis.from_url(url, ssl_cert_reqs="required", socket_timeout=2).ping()

        # a broker restart: the host's user is set again
        supervisor.stop(f"{placement.env_id}/broker")
        brokers.ensure(placement)
        assert host_client(url, answer["BrokerCa"], tmp_path).ping()

        # a second handshake replaces the password; dismissing ends the open connection at once
        again = driver.admit_worker_host(placement, "host-0123456789abcdef", queue="default")
        with pytest.raises(redis_py.exceptions.AuthenticationError):
            host_client(url, answer["BrokerCa"], tmp_path).ping()
        open_connection = host_client(again["BrokerUrl"], again["BrokerCa"], tmp_path)
        assert open_connection.ping()
        driver.dismiss_worker_host(placement, "host-0123456789abcdef")
        with pytest.raises(redis_py.exceptions.ConnectionError):
            open_connection.ping()
        with pytest.raises(redis_py.exceptions.AuthenticationError):
            host_client(again["BrokerUrl"], again["BrokerCa"], tmp_path).ping()
        driver.dismiss_worker_host(placement, "host-0123456789abcdef")  # again: nothing to do
    finally:
        driver.close()


def test_after_a_control_plane_restart_the_door_opens_again_where_hosts_look(broker, tmp_path):
    settings, supervisor, brokers, placement = broker
    certificates = lambda address: door_certificates(settings, address)  # noqa: E731
    first = LocalDriver(settings, door_certificates=certificates)
    answer = first.admit_worker_host(placement, "host-0000000000000001", queue="default")
    first.close()
    with pytest.raises(redis_py.exceptions.ConnectionError):
        host_client(answer["BrokerUrl"], answer["BrokerCa"], tmp_path).ping()
    again = LocalDriver(settings, door_certificates=certificates)
    try:
        again.reopen_broker_door(placement)  # what `ensure` does once the environment runs
        assert host_client(answer["BrokerUrl"], answer["BrokerCa"], tmp_path).ping()
    finally:
        again.close()
    nobody = Placement(env_id="cafe0002", root=tmp_path / "other", web_port=2, broker_db=2)
    plain = LocalDriver(settings)
    plain.reopen_broker_door(nobody)  # no host let in: no door, and no certificate needed
    plain.close()


def test_without_a_running_broker_the_host_is_told_to_join_again(broker, tmp_path):
    settings, supervisor, brokers, placement = broker
    supervisor.stop(f"{placement.env_id}/broker")
    with pytest.raises(errors.Temporary, match="not running; join again once it is AVAILABLE"):
        brokers.admit_host(placement, "host-aa", "secret", queue="default")
    doors = BrokerDoors(settings)
    with pytest.raises(errors.Permanent, match="no certificate for broker doors"):
        doors.open(placement)


NS = "adw-host1"
MAIN, HOST = "10.231.7.1", "10.231.7.2"


@pytest.fixture
def simulated_host():
    """A network namespace with its own address, joined to this host by a veth pair."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("simulated hosts need root and iproute2 (CI runs as root)")

    def ip(*args, check=True):
        return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)

    ip("netns", "del", NS, check=False)
    ip("link", "del", "adw-main1", check=False)
    ip("netns", "add", NS)
    try:
        ip("link", "add", "adw-main1", "type", "veth", "peer", "name", "adw-peer1")
        ip("link", "set", "adw-peer1", "netns", NS)
        ip("addr", "add", f"{MAIN}/30", "dev", "adw-main1")
        ip("link", "set", "adw-main1", "up")
        ip("-n", NS, "addr", "add", f"{HOST}/30", "dev", "adw-peer1")
        ip("-n", NS, "link", "set", "adw-peer1", "up")
        ip("-n", NS, "link", "set", "lo", "up")
        yield NS
    finally:
        ip("link", "del", "adw-main1", check=False)
        ip("netns", "del", NS, check=False)


def test_a_simulated_host_reaches_the_door_only_on_the_exposed_address(broker, simulated_host, tmp_path):
    settings, supervisor, brokers, placement = broker
    exposed = settings.replace(worker_address=MAIN)
    driver = LocalDriver(exposed, door_certificates=lambda address: door_certificates(exposed, address))
    try:
        answer = driver.admit_worker_host(placement, "host-feedfacefeedface", queue="gpu")
        assert f"@{MAIN}:" in answer["BrokerUrl"]
        ca = tmp_path / "host-ca.pem"
        ca.write_text(answer["BrokerCa"])
        probe = ("import redis, sys; r = redis.Redis.from_url(sys.argv[1], ssl_ca_certs=sys.argv[2], socket_timeout=5);"
                 "r.lpush('gpu', 'from the host'); print(r.ping())")
        ran = subprocess.run(["ip", "netns", "exec", simulated_host, sys.executable, "-c", probe,
                              answer["BrokerUrl"], str(ca)], capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0 and ran.stdout.strip() == "True", ran.stderr
        assert host_client(answer["BrokerUrl"], answer["BrokerCa"], tmp_path).rpop("gpu") == b"from the host"
        # the same URL from the host once it is dismissed: refused
        driver.dismiss_worker_host(placement, "host-feedfacefeedface")
        ran = subprocess.run(["ip", "netns", "exec", simulated_host, sys.executable, "-c", probe,
                              answer["BrokerUrl"], str(ca)], capture_output=True, text=True, timeout=60)
        assert ran.returncode != 0 and "AuthenticationError" in ran.stderr
    finally:
        driver.close()
