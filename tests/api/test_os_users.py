"""Environments' own OS users (under root): made on first use, owning the environment's folder,
locked out of the control plane's home and of each other, removed with the environment."""

import os
import pwd
import secrets
import stat
import subprocess

import pytest

from aerodrome.domain.placement import Placement
from aerodrome.runtimes.local import os_users
from aerodrome.runtimes.local.os_users import OsUsers
from aerodrome.settings import Settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root makes OS users")


@pytest.fixture
def home(tmp_path):
    settings = Settings(home=tmp_path / "home", serve_s3=False)
    for folder in (settings.home, settings.environments_dir, settings.buckets_dir / "b", settings.tls_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (settings.home / "aerodrome.db").write_text("store")
    (settings.tls_dir / "ca.key").write_text("key")
    (settings.buckets_dir / "b" / "dag.py").write_text("x = 1")
    settings.home.chmod(0o700)
    return settings


def placement(settings):
    env_id = secrets.token_hex(4)
    root = settings.environments_dir / env_id
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "dag.py").write_text("x = 1")
    return Placement(env_id=env_id, root=root, web_port=1, broker_db=1)


def as_user(user, *argv):
    entry = pwd.getpwnam(user)
    return subprocess.run(list(argv), user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], capture_output=True,
                          text=True)


def test_each_environment_gets_a_user_that_reaches_its_folder_only(home):
    users = OsUsers(home)
    a, b = placement(home), placement(home)
    try:
        user_a, user_b = users.ensure(a), users.ensure(b)
        assert user_a == f"aerodrome-{a.env_id}" and user_a != user_b
        assert a.root.stat().st_uid == pwd.getpwnam(user_a).pw_uid
        assert stat.S_IMODE(a.root.stat().st_mode) == 0o700
        assert as_user(user_a, "cat", str(a.root / "dags" / "dag.py")).returncode == 0
        for path in (b.root / "dags" / "dag.py", home.home / "aerodrome.db", home.tls_dir / "ca.key",
                     home.buckets_dir / "b" / "dag.py"):
            refused = as_user(user_a, "cat", str(path))
            assert refused.returncode != 0 and "Permission denied" in refused.stderr, path
        assert as_user(user_a, "ls", str(home.home)).returncode != 0  # passes through, cannot list
    finally:
        users.remove(a)
        users.remove(b)
    for user in (f"aerodrome-{a.env_id}", f"aerodrome-{b.env_id}"):
        with pytest.raises(KeyError):
            pwd.getpwnam(user)


def test_removing_an_environment_kills_what_its_user_left_running(home):
    users = OsUsers(home)
    env = placement(home)
    user = users.ensure(env)
    entry = pwd.getpwnam(user)
    daemon = subprocess.Popen(["sleep", "600"], user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                              cwd="/", start_new_session=True)
    users.remove(env)
    assert daemon.wait(timeout=10) == -9
    with pytest.raises(KeyError):
        pwd.getpwnam(user)


def test_the_home_is_locked_down_but_passable(home):
    os_users.lock_down(home)
    assert stat.S_IMODE(home.home.stat().st_mode) & 0o077 == 0o001
    assert stat.S_IMODE((home.home / "aerodrome.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.buckets_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.environments_dir.stat().st_mode) & 0o001
