"""One Airflow venv per version, built once with uv and shared by every environment."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.runtimes.local import binaries

READY = ".aerodrome-ready"
CONSTRAINTS = "aerodrome-constraints.txt"
# Providers MWAA's images ship beside the ones Airflow's extras bring (celery, postgres, http, smtp, ...).
PROVIDERS = ("amazon", "sqlite", "ftp", "imap", "http", "smtp", "common-sql", "common-io")


def packages(version: str) -> list[str]:
    """What every environment of `version` gets, as MWAA pre-installs it."""
    # celery 5.7 dropped names the Celery provider imports (celery.backends.database.retry);
    # the broker is Redis, so kombu needs the redis client (Airflow 2's celery extra does not bring it)
    return [f"apache-airflow[celery,postgres]=={version}", "celery<5.7", "redis>=5,<7",
            *(f"apache-airflow-providers-{name}" for name in PROVIDERS)]


def venv_path(venvs_dir: Path, version: str) -> Path:
    return venvs_dir / f"airflow-{version}"


def ensure_venv(venvs_dir: Path, version: str, *, progress: Callable[[str], None] | None = None) -> Path:
    """The ready venv for `version`; builds it (in a temporary folder, then renamed) when missing,
    and adds what a venv built with an older package list lacks."""
    say = progress or (lambda line: None)
    target = venv_path(venvs_dir, version)
    if _ready(target, version):
        return target
    venvs_dir.mkdir(parents=True, exist_ok=True)
    with open(venvs_dir / f".airflow-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _ready(target, version):
            return target
        if (target / READY).exists():
            return _top_up(target, version, say)
        started = time.monotonic()
        staging = venvs_dir / f".airflow-{version}.building"
        shutil.rmtree(staging, ignore_errors=True)
        say(f"building the Airflow {version} venv (once per version; a minute or two)")
        uv = str(binaries.uv())
        _run([uv, "venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)],
             what="creating the venv")
        say(f"installing apache-airflow {version} and the Amazon provider")
        _run([uv, "pip", "install", "--quiet", "--python", str(staging / "bin" / "python"), *packages(version)],
             what=f"installing apache-airflow {version}")
        frozen = _run([uv, "pip", "freeze", "--python", str(staging / "bin" / "python")], what="freezing")
        (staging / CONSTRAINTS).write_text(frozen)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        (target / READY).write_text(_stamp(version))
        say(f"Airflow {version} venv ready in {time.monotonic() - started:.0f} s")
    return target


def _stamp(version: str) -> str:
    return json.dumps({"version": version, "packages": packages(version)})


def _ready(target: Path, version: str) -> bool:
    return (target / READY).exists() and (target / READY).read_text() == _stamp(version)


def _top_up(target: Path, version: str, say: Callable[[str], None]) -> Path:
    """Install what the package list gained since the venv was built (nothing already there moves)."""
    say(f"adding packages to the Airflow {version} venv")
    uv, python = str(binaries.uv()), str(target / "bin" / "python")
    _run([uv, "pip", "install", "--quiet", "--python", python, "--constraint", str(target / CONSTRAINTS),
          *packages(version)], what=f"adding packages to the Airflow {version} venv")
    (target / CONSTRAINTS).write_text(_run([uv, "pip", "freeze", "--python", python], what="freezing"))
    (target / READY).write_text(_stamp(version))
    return target


def _run(argv: list[str], *, what: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise errors.Permanent(f"{what} failed: {result.stderr.strip()[-1500:]}")
    return result.stdout
