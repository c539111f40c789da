"""An environment's contents (plugins, requirements overlay, startup script), staged per bundle identity.

Each pinned identity gets its own folders, so staging a new spec never changes what running
processes use; the switch happens when components restart with the new spec's variables.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aerodrome import errors
from aerodrome.domain import classes
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import airflow_env, files, launcher, overlays, plugins

Bundles = dict[str, bytes | None]  # "plugins" | "requirements" | "startup" -> content (None when not set)
Fetch = Callable[[set[str]], Bundles]  # fetch(kinds) -> the pinned bytes of those kinds


@dataclass(frozen=True)
class Staged:
    plugins_dir: Path
    overlay: Path | None = None
    startup_script: Path | None = None

    def env(self) -> dict[str, str]:
        env = {"AIRFLOW__CORE__PLUGINS_FOLDER": str(self.plugins_dir)}
        if self.overlay is not None:
            env["PYTHONPATH"] = str(overlays.site(self.overlay))
        return env


def wrap_startup(staged: Staged, spec: EnvironmentSpec, argv: list[str], env: dict[str, str], *, python: Path,
                 log: Path, timeout: float) -> list[str]:
    """`argv` run after the startup script (when there is one); sets in `env` what the script may not change.

    MWAA's precedence: defaults < startup-script exports < AirflowConfigurationOptions < reserved variables."""
    if staged.startup_script is None:
        return argv
    user = {airflow_env.option_var(k) for k in spec.airflow_configuration_options}
    overridable = {airflow_env.option_var(k) for k in airflow_env.DEFAULTS} - user
    base = {"PATH", "HOME", "LANG", "LC_ALL"}
    keep = (set(env) - overridable - base) | classes.RESERVED_VARIABLES
    env[launcher.KEEP_VAR] = ",".join(sorted(keep))
    return [str(python), str(_launcher_beside(staged.startup_script)), "--script", str(staged.startup_script),
            "--timeout", str(timeout),
            "--log", str(log), "--", *argv]


def _launcher_beside(script: Path) -> Path:
    """A copy of the launcher (standard library only) in the script's folder, which the environment's OS
    user can read wherever Aerodrome itself is installed."""
    return files.readable_copy(Path(launcher.__file__), script.parent / "aerodrome-launcher.py")


def identity(spec: EnvironmentSpec, kind: str) -> str | None:
    path, version = {
        "plugins": (spec.plugins_s3_path, spec.plugins_s3_object_version),
        "requirements": (spec.requirements_s3_path, spec.requirements_s3_object_version),
        "startup": (spec.startup_script_s3_path, spec.startup_script_s3_object_version),
    }[kind]
    if not path:
        return None
    return hashlib.sha256(f"{spec.source_bucket_arn}\n{path}\n{version}".encode()).hexdigest()[:16]


def _record(spec: EnvironmentSpec, placement: Placement) -> Path:
    key = hashlib.sha256(json.dumps([identity(spec, k) for k in ("plugins", "requirements", "startup")])
                         .encode()).hexdigest()[:16]
    return placement.root / "contents" / f"{key}.json"


def staged(spec: EnvironmentSpec, placement: Placement) -> Staged | None:
    """What `stage` made for `spec`, or None when it still has to run."""
    if not any(identity(spec, k) for k in ("plugins", "requirements", "startup")):
        return Staged(plugins_dir=placement.root / "plugins")
    try:
        data = json.loads(_record(spec, placement).read_text())
    except (OSError, ValueError):
        return None
    result = Staged(plugins_dir=Path(data["plugins_dir"]),
                    overlay=Path(data["overlay"]) if data.get("overlay") else None,
                    startup_script=Path(data["startup_script"]) if data.get("startup_script") else None)
    present = [result.plugins_dir, result.overlay, result.startup_script]
    return result if all(p is None or p.exists() for p in present) else None


def stage(spec: EnvironmentSpec, placement: Placement, fetch: Fetch, *, venvs_dir: Path, venv: Path,
          limits: plugins.Limits, progress: Callable[[str], None] | None = None) -> Staged:
    """Fetch and prepare `spec`'s contents unless already done; errors.Permanent says what is wrong."""
    done = staged(spec, placement)
    if done is not None:
        return done
    plugins_id, requirements_id, startup_id = (identity(spec, k) for k in ("plugins", "requirements", "startup"))
    plugins_dir = placement.root / "plugins" / (plugins_id or "none")
    requirements = placement.root / "contents" / f"requirements-{requirements_id}.txt"
    script = placement.root / "startup" / f"{startup_id}.sh" if startup_id else None
    # what is already here for an identity is never fetched again (a local bucket keeps only its newest bytes)
    wanted = {kind for kind, have in (("plugins", plugins_id is None or plugins_dir.exists()),
                                      ("requirements", requirements_id is None or requirements.exists()),
                                      ("startup", script is None or script.exists())) if not have}
    bundles = fetch(wanted) if wanted else {}
    if not plugins_dir.exists():
        if (archive := bundles.get("plugins")) is not None:
            plugins.extract(archive, plugins_dir, limits=limits,
                            label=f"plugins.zip ({spec.plugins_s3_path})")
        else:
            plugins_dir.mkdir(parents=True)
    overlay = None
    if requirements_id:
        data = _fetched(bundles, "requirements") if "requirements" in wanted else requirements.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.Permanent(f"requirements.txt ({spec.requirements_s3_path}) is not UTF-8 text.") from exc
        overlay = overlays.ensure_overlay(venvs_dir, spec.airflow_version, venv, text, plugins_dir=plugins_dir,
                                          plugins_id=plugins_id, progress=progress)
        requirements.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(requirements, data)
    if script is not None and "startup" in wanted:
        script.parent.mkdir(parents=True, exist_ok=True)
        # readable by the environment's OS user (its folder keeps everyone else out)
        write_atomically(script, _fetched(bundles, "startup"), mode=0o755)
    result = Staged(plugins_dir=plugins_dir, overlay=overlay, startup_script=script)
    record = _record(spec, placement)
    record.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(record, json.dumps({"plugins_dir": str(plugins_dir), "overlay": str(overlay) if overlay else None,
                                         "startup_script": str(script) if script else None}).encode())
    return result


def _fetched(bundles: Bundles, kind: str) -> bytes:
    """The fetched bytes of `kind`, which the spec sets (fetch gives None only for kinds it does not set)."""
    data = bundles[kind]
    if data is None:
        raise errors.Permanent(f"the environment's {kind} file was not fetched")
    return data


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_bytes(data)
    temp.chmod(mode)
    os.replace(temp, path)
