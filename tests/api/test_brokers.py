"""Each environment's own embedded Redis broker: a Unix socket and a password of its own, no TCP port;
one environment's password gets nothing from another's broker."""

import psutil
import pytest
import redis as redis_py

from aerodrome import errors
from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local import redis
from aerodrome.runtimes.local.redis import Brokers
from aerodrome.runtimes.local.supervisor import Supervisor
from aerodrome.settings import Settings


@pytest.fixture
def brokers(tmp_path):
    supervisor = Supervisor()
    try:
        yield Brokers(Settings(home=tmp_path / "home", serve_s3=False), supervisor), supervisor
    finally:
        supervisor.close()


def placement(tmp_path, env_id):
    return Placement(env_id=env_id, root=tmp_path / env_id, web_port=1, broker_db=1)


def client(sock, password):
    return redis_py.Redis(unix_socket_path=sock, password=password)


def socket_and_password(url):
    password, path = url.removeprefix("redis+socket://:").split("@", 1)
    return path, password


def test_each_environment_has_its_own_broker_and_password(brokers, tmp_path):
    brokers, supervisor = brokers
    a, b = placement(tmp_path, "aaaa0001"), placement(tmp_path, "bbbb0002")
    sock_a, password_a = socket_and_password(brokers.ensure(a))
    sock_b, password_b = socket_and_password(brokers.ensure(b))
    assert sock_a != sock_b and password_a != password_b
    client(sock_a, password_a).set("k", "a")
    assert client(sock_a, password_a).get("k") == b"a"
    # A's password on B's broker is refused, and B holds none of A's keys
    with pytest.raises(redis_py.AuthenticationError):
        client(sock_b, password_a).get("k")
    assert client(sock_b, password_b).exists("k") == 0
    # no TCP listener: the socket is the only way in
    pid = supervisor.state("aaaa0001/broker")[1]
    assert pid and not [c for c in psutil.Process(pid).net_connections(kind="tcp")
                        if c.status == psutil.CONN_LISTEN]
    # the same URL again (the running server is kept); flush empties it
    assert brokers.ensure(a) == f"redis+socket://:{password_a}@{sock_a}"
    brokers.flush(a)
    assert redis.command(sock_a, password_a, "DBSIZE") == "0"


def test_a_path_too_long_for_a_socket_is_refused_with_the_remedy(brokers, tmp_path):
    brokers, _ = brokers
    deep = placement(tmp_path / ("x" * 90), "cccc0003")
    with pytest.raises(errors.Permanent, match="AERODROME_HOME"):
        brokers.ensure(deep)
