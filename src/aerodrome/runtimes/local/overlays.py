"""requirements.txt as a per-environment overlay on the shared Airflow venv.

The file is resolved with uv against the version venv's frozen packages (added as constraints when
the file has none, as MWAA adds Airflow's), so a broken file fails in seconds, before any process
is touched. Packages the venv already has are not installed again: the overlay is a folder holding
only the new ones, put first on PYTHONPATH. Overlays are keyed by (Airflow version, file content),
so environments with the same file share one.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from aerodrome import errors
from aerodrome.runtimes.local import binaries, venvs

MWAA_PLUGINS = "/usr/local/airflow/plugins"  # where MWAA's documentation points --find-links
READY = ".aerodrome-ready"
RESOLVE_TIMEOUT = 120.0
INSTALL_TIMEOUT = 540.0  # MWAA's image allows 9 minutes
_CONSTRAINT = re.compile(r"(^|\s)(-c|--constraint)(\s|=)")
_CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://)[^/@\s]+@")  # user:token@ in index URLs
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def requirement_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def has_constraint(text: str) -> bool:
    """MWAA's rule: any `-c`/`--constraint` line, even commented out, means the user chose constraints."""
    return any(_CONSTRAINT.search(line.lstrip("# ")) for line in text.splitlines())


def overlay_key(version: str, text: str, plugins_id: str | None) -> str:
    uses_plugins = MWAA_PLUGINS in text
    material = f"{version}\n{text}\n{plugins_id if uses_plugins else ''}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def ensure_overlay(venvs_dir: Path, version: str, venv: Path, text: str, *, plugins_dir: Path,
                   plugins_id: str | None, progress: Callable[[str], None] | None = None) -> Path | None:
    """The overlay folder for `text` (built when missing), or None when the file asks for nothing."""
    if not requirement_lines(text):
        return None
    say = progress or (lambda line: None)
    target = venvs_dir / "overlays" / f"airflow-{version}-{overlay_key(version, text, plugins_id)}"
    if (target / READY).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / READY).exists():
            return target
        staging = target.with_name(f".{target.name}.building")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            _build(staging, version, venv, text, plugins_dir=plugins_dir, say=say)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        (target / READY).write_text(version)
    return target


def resolve(folder: Path, version: str, venv: Path, text: str, *, plugins_dir: Path,
            say: Callable[[str], None]) -> str:
    """The pre-flight: resolve `text` against the version's constraints (files go to `folder`);
    the resolved pins, or errors.Permanent with the resolver's message."""
    local = text.replace(MWAA_PLUGINS, str(plugins_dir))
    (folder / "requirements.txt").write_text(local)
    (folder / "essential-constraints.txt").write_text(f"apache-airflow=={version}\n")
    args = ["-c", str(folder / "essential-constraints.txt")]
    if not has_constraint(text):
        say("requirements.txt names no constraints; adding the Airflow version's (as MWAA does)")
        args += ["-c", str(venv / venvs.CONSTRAINTS)]
    say("resolving requirements.txt")
    return _uv([str(binaries.uv()), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python",
                str(venv / "bin" / "python"), str(folder / "requirements.txt"), *args], timeout=RESOLVE_TIMEOUT,
               what="requirements.txt could not be resolved")


def _build(staging: Path, version: str, venv: Path, text: str, *, plugins_dir: Path,
           say: Callable[[str], None]) -> None:
    resolved = resolve(staging, version, venv, text, plugins_dir=plugins_dir, say=say)
    installed = base_packages(venv)
    extra = [line for line in requirement_lines(resolved) if is_new(line, installed)]
    options = [line for line in requirement_lines((staging / "requirements.txt").read_text())
               if line.startswith(("--find-links", "-f ", "--index-url", "-i ", "--extra-index-url", "--no-index"))]
    (staging / "install.txt").write_text("\n".join(options + extra) + "\n")
    if extra:
        say(f"installing {len(extra)} package(s) from requirements.txt")
        _uv([str(binaries.uv()), "pip", "install", "--quiet", "--no-deps", "--compile-bytecode", "--python",
             str(venv / "bin" / "python"),
             "--target", str(staging / "site"), "-r", str(staging / "install.txt")], timeout=INSTALL_TIMEOUT,
            what="installing requirements.txt failed")
    (staging / "site").mkdir(exist_ok=True)


def site(overlay: Path) -> Path:
    return overlay / "site"


def base_packages(venv: Path) -> dict[str, str]:
    pins = {}
    for line in (venv / venvs.CONSTRAINTS).read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[_normal(match.group(1))] = match.group(2)
    return pins


def is_new(line: str, installed: dict[str, str]) -> bool:
    match = _PIN.match(line)
    return not match or installed.get(_normal(match.group(1))) != match.group(2)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _uv(argv: list[str], *, timeout: float, what: str) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise errors.Permanent(f"{what}: uv did not finish within {timeout:.0f} s.") from exc
    if result.returncode != 0:
        message = result.stderr.strip()[-1500:] or result.stdout.strip()[-1500:]
        message = _CREDENTIALS.sub(r"\1***@", " ".join(message.split()))  # uv wraps lines to the terminal
        raise errors.Permanent(f"{what}: {message}")
    return result.stdout
