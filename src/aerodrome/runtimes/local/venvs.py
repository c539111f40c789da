"""One Airflow venv per version, built once with uv and shared by every environment."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.domain.spec import AIRFLOW_RELEASES, newest_of_line
from aerodrome.runtimes.local import binaries, os_users

READY = ".aerodrome-ready"
CONSTRAINTS = "aerodrome-constraints.txt"
# Providers MWAA's images ship beside the ones Airflow's extras bring (celery, postgres, http, smtp, ...).
RESOLVE_DAYS_AFTER_RELEASE = 3
CELERY_PROVIDER_3 = "3.23.1"
# amazon's aiobotocore extra: its deferrable operators' triggers run on it (MWAA's images have it).
PROVIDERS = ("amazon[aiobotocore]", "sqlite", "ftp", "imap", "http", "smtp", "common-sql", "common-io")


def packages(version: str) -> list[str]:
    """What every environment of `version` gets, as MWAA pre-installs it."""
    # celery 5.7 dropped names the Celery provider imports (celery.backends.database.retry);
    # the broker is Redis, so kombu needs the redis client (Airflow 2's celery extra does not bring it)
    # On Airflow 3, Celery providers older than CELERY_PROVIDER_3 left the worker's pool processes hung
    # after fork on the environment's socket broker (seen with 3.18.0 on 3.2.1: no task ever ran).
    floor = [f"apache-airflow-providers-celery>={CELERY_PROVIDER_3}"] if _celery_floor(version) else []
    return [f"apache-airflow[celery,postgres,statsd]=={version}", "celery<5.7", "redis>=5,<7", *floor,
            *(f"apache-airflow-providers-{name}" for name in PROVIDERS)]


def resolution(version: str) -> list[str]:
    """uv flags that pin what an older version resolves: packages as published a few days after it
    (the newest 2.x and 3.x take today's)."""
    import datetime

    released = AIRFLOW_RELEASES.get(version)
    if released is None or newest_of_line(version):
        return []
    def cutoff(day: str) -> str:
        return f"{datetime.date.fromisoformat(day) + datetime.timedelta(days=RESOLVE_DAYS_AFTER_RELEASE)}T00:00:00Z"

    flags = ["--exclude-newer", cutoff(released)]
    if _celery_floor(version):  # the Celery provider floor above (and what it needs) is newer than the version
        newest = max((v for v in AIRFLOW_RELEASES if v.startswith("3.")), key=lambda v: AIRFLOW_RELEASES[v])
        for package in ("apache-airflow-providers-celery", "apache-airflow-providers-common-compat"):
            flags += ["--exclude-newer-package", f"{package}={cutoff(AIRFLOW_RELEASES[newest])}"]
    return flags


def _celery_floor(version: str) -> bool:
    """Airflow 3.1 and newer (3.0.6 runs with the Celery provider of its day, whose needs it meets)."""
    return version.split(".")[0] == "3" and tuple(int(p) for p in version.split(".")[:2]) >= (3, 1)


def venv_path(venvs_dir: Path, version: str) -> Path:
    return venvs_dir / f"airflow-{version}"


def ensure_venv(venvs_dir: Path, version: str, *, progress: Callable[[str], None] | None = None) -> Path:
    """The ready venv for `version`; builds it (in a temporary folder, then renamed) when missing,
    and adds what a venv built with an older package list lacks."""
    say = progress or (lambda line: None)
    target = venv_path(venvs_dir, version)
    if os.geteuid() == 0:  # environments' own OS users run from here
        venvs_dir.mkdir(parents=True, exist_ok=True)
        os_users.traversable(venvs_dir)
    if _ready(target, version):
        return target
    venvs_dir.mkdir(parents=True, exist_ok=True)
    with open(venvs_dir / f".airflow-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _ready(target, version):
            return target
        if (target / READY).exists() and _same_python(target):
            return _top_up(target, version, say)
        started = time.monotonic()
        staging = venvs_dir / f".airflow-{version}.building"
        shutil.rmtree(staging, ignore_errors=True)
        say(f"building the Airflow {version} venv (once per version; a minute or two)")
        uv = str(binaries.uv())
        _run([uv, "venv", "--quiet", "--relocatable", "--python", interpreter(), str(staging)],
             what="creating the venv")
        say(f"installing apache-airflow {version} and the Amazon provider")
        # compiled now: environments' own OS users cannot write __pycache__ here
        _run([uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(staging / "bin" / "python"),
              *resolution(version), *packages(version)], what=f"installing apache-airflow {version}")
        frozen = _run([uv, "pip", "freeze", "--python", str(staging / "bin" / "python")], what="freezing")
        (staging / CONSTRAINTS).write_text(frozen)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        (target / READY).write_text(_stamp(version))
        say(f"Airflow {version} venv ready in {time.monotonic() - started:.0f} s")
    return target


def interpreter() -> str:
    """The Python the venvs are made with: this one, unless it lies where environments' own OS users
    (under root) cannot reach it; then the system's Python of the same version."""
    if os.geteuid() != 0 or _reachable(Path(sys.executable).resolve()):
        return sys.executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/bin", "/usr/local/bin"):
        candidate = Path(folder) / version
        if candidate.exists() and _reachable(candidate.resolve()):
            return str(candidate)
    raise errors.Permanent(f"This Python ({sys.executable}) is in a folder other users cannot enter, and there is "
                           f"no system {version}; environments' OS users could not run Airflow. Install {version} "
                           "system-wide, or run Aerodrome from a Python other users can reach.")


def _reachable(path: Path) -> bool:
    """Other users can run `path`: every folder above it lets them through, and it lets them run it."""
    return all(folder.stat().st_mode & 0o001 for folder in path.parents) and bool(path.stat().st_mode & 0o001)


def _stamp(version: str) -> str:
    return json.dumps({"version": version, "packages": packages(version), "python": interpreter()})


def _ready(target: Path, version: str) -> bool:
    return (target / READY).exists() and (target / READY).read_text() == _stamp(version)


def _same_python(target: Path) -> bool:
    try:
        return json.loads((target / READY).read_text()).get("python", sys.executable) == interpreter()
    except (OSError, ValueError):
        return False


def _top_up(target: Path, version: str, say: Callable[[str], None]) -> Path:
    """Install what the package list gained since the venv was built: nothing already there moves,
    unless a new package needs it to (then only what it needs moves)."""
    say(f"adding packages to the Airflow {version} venv")
    uv, python = str(binaries.uv()), str(target / "bin" / "python")
    install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python, *resolution(version)]
    what = f"adding packages to the Airflow {version} venv"
    try:
        _run([*install, "--constraint", str(target / CONSTRAINTS), *packages(version)], what=what)
    except errors.Permanent:
        say(f"adding packages to the Airflow {version} venv: moving what they need")
        _run([*install, *packages(version)], what=what)  # packages() pins Airflow itself
    (target / CONSTRAINTS).write_text(_run([uv, "pip", "freeze", "--python", python], what="freezing"))
    (target / READY).write_text(_stamp(version))
    return target


def _run(argv: list[str], *, what: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise errors.Permanent(f"{what} failed: {result.stderr.strip()[-1500:]}")
    return result.stdout
