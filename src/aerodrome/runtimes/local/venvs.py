"""One Airflow venv per version, built once with uv and shared by every environment."""

from __future__ import annotations

import fcntl
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
    # celery 5.7 dropped names the Celery provider imports (celery.backends.database.retry)
    return [f"apache-airflow[celery,postgres]=={version}", "celery<5.7",
            *(f"apache-airflow-providers-{name}" for name in PROVIDERS)]


def venv_path(venvs_dir: Path, version: str) -> Path:
    return venvs_dir / f"airflow-{version}"


def ensure_venv(venvs_dir: Path, version: str, *, progress: Callable[[str], None] | None = None) -> Path:
    """The ready venv for `version`; builds it (in a temporary folder, then renamed) when missing."""
    say = progress or (lambda line: None)
    target = venv_path(venvs_dir, version)
    if (target / READY).exists():
        return target
    venvs_dir.mkdir(parents=True, exist_ok=True)
    with open(venvs_dir / f".airflow-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / READY).exists():
            return target
        started = time.monotonic()
        staging = venvs_dir / f".airflow-{version}.building"
        shutil.rmtree(staging, ignore_errors=True)
        say(f"building the Airflow {version} venv (once per version; a minute or two)")
        uv = str(binaries.uv())
        _run([uv, "venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)], what="creating the venv")
        say(f"installing apache-airflow {version} and the Amazon provider")
        _run([uv, "pip", "install", "--quiet", "--python", str(staging / "bin" / "python"), *packages(version)],
             what=f"installing apache-airflow {version}")
        frozen = _run([uv, "pip", "freeze", "--python", str(staging / "bin" / "python")], what="freezing")
        (staging / CONSTRAINTS).write_text(frozen)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        (target / READY).write_text(version)
        say(f"Airflow {version} venv ready in {time.monotonic() - started:.0f} s")
    return target


def _run(argv: list[str], *, what: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise errors.Permanent(f"{what} failed: {result.stderr.strip()[-1500:]}")
    return result.stdout
