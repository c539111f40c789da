"""Each environment's own OS user, so one tenant's code reaches nothing of another's.

When the control plane runs as root, every environment gets a system user and group of its own
(`aerodrome-<env id>`, made at its first start, removed with it). Its Airflow processes, broker and
Airflow CLI commands run as that user; its folder belongs to it (mode 0700), so other environments
can neither list nor read it. The kernel then keeps environments apart: another user's files,
`/proc/<pid>/environ` and signals are refused.

The control plane's home is locked down at start: other users may pass through it to reach their
own environment's folder, but everything else in it (store, keys, TLS, buckets, logs) is its own.

Without root there is one OS user for everything (single-user development): Aerodrome says so once.
"""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
from pathlib import Path

import psutil

from aerodrome.domain.placement import Placement
from aerodrome.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "aerodrome-"


def isolating() -> bool:
    return os.geteuid() == 0


def name(placement: Placement) -> str:
    return PREFIX + placement.env_id


class OsUsers:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.on = isolating()
        if self.on:
            lock_down(settings)
        else:
            log.warning("Aerodrome runs as %s, not root: every environment's processes run as that user too, so "
                        "environments are not isolated from each other (fine for single-user development).",
                        pwd.getpwuid(os.geteuid()).pw_name)

    def ensure(self, placement: Placement) -> str | None:
        """The environment's OS user (made if missing), owning its folder; None without root."""
        if not self.on:
            return None
        user = name(placement)
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            _run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                  str(placement.root / "airflow_home"), "--shell", "/usr/sbin/nologin", user])
            entry = pwd.getpwnam(user)
        traversable(placement.root.parent)
        _own(placement.root, entry.pw_uid, entry.pw_gid)
        placement.root.chmod(0o700)
        return user

    def kill(self, placement: Placement) -> None:
        """Every process left running as the environment's user (a task's daemon, say)."""
        if not self.on:
            return
        try:
            uid = pwd.getpwnam(name(placement)).pw_uid
        except KeyError:
            return
        for process in psutil.process_iter(["uids"]):
            try:
                if process.info["uids"] and process.info["uids"].real == uid:
                    process.kill()
            except psutil.Error:
                pass

    def remove(self, placement: Placement) -> None:
        """The environment's user and group, once its processes are gone."""
        if not self.on:
            return
        self.kill(placement)
        try:
            pwd.getpwnam(name(placement))
        except KeyError:
            return
        _run(["userdel", name(placement)])


def lock_down(settings: Settings) -> None:
    """Other users may pass through the home to their environment's folder and read nothing else."""
    home = settings.home
    traversable(settings.environments_dir)
    shared = {settings.environments_dir, settings.venvs_dir, settings.services_dir}
    for entry in home.iterdir():
        if entry in shared or entry.is_symlink():
            continue
        entry.chmod(0o700 if entry.is_dir() else 0o600)
    for entry in settings.services_dir.iterdir() if settings.services_dir.exists() else ():
        if entry.name != "postgres":  # the database server's own user passes through its folder
            entry.chmod(0o700 if entry.is_dir() else 0o600)


def traversable(path: Path) -> None:
    """Let other users pass through `path` and its parents (not list them)."""
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)


def _own(root: Path, uid: int, gid: int) -> None:
    """The whole folder the first time; after that what the control plane may have added that the
    environment writes or reads as a file of its own (top-level folders, secrets), not every log."""
    if os.lstat(root).st_uid != uid:
        paths = [os.path.join(folder, n) for folder, dirs, files in os.walk(root) for n in dirs + files]
    else:
        secrets = root / "secrets"
        paths = [str(p) for p in root.iterdir()] + ([str(p) for p in secrets.iterdir()] if secrets.is_dir() else [])
    for path in [str(root), *paths]:
        stat = os.lstat(path)
        if stat.st_uid != uid or stat.st_gid != gid:
            os.lchown(path, uid, gid)


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0 and "does not exist" not in result.stderr:
        from aerodrome import errors

        raise errors.Permanent(f"`{' '.join(argv[:1])}` failed for an environment's OS user: "
                               f"{result.stderr.strip()[-400:]}")
