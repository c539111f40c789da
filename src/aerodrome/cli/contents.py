"""`aerodrome test-requirements | test-startup-script | logs | env confirm-endpoints`.

The local-development tools exit non-zero on any failure, so they fit CI pipelines. `logs` reads
the store and the log files on this host directly (read only); `env confirm-endpoints` is a
request to the running control plane.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aerodrome import errors
from aerodrome.settings import Settings

if TYPE_CHECKING:
    from aerodrome.services.environments import EnvironmentService
    from aerodrome.store.db import Store

LOG_TYPES = {"scheduler": "Scheduler", "worker": "Worker", "webserver": "WebServer", "api-server": "WebServer",
             "dag-processor": "DAGProcessing", "triggerer": "Scheduler", "task": "Task"}


def register(commands: argparse._SubParsersAction) -> None:
    test_req = commands.add_parser("test-requirements", help="resolve a requirements.txt the way an update would")
    test_req.add_argument("source", help="a folder or local bucket name holding requirements.txt (and plugins.zip)")
    test_req.add_argument("--airflow-version", default=None)
    test_req.set_defaults(handler=test_requirements)

    package = commands.add_parser("package-requirements",
                                  help="download requirements.txt's new packages as wheels into a plugins.zip")
    package.add_argument("source", help="a folder or local bucket name holding requirements.txt (and plugins.zip)")
    package.add_argument("--output", default="plugins.zip", help="the plugins.zip to write (default ./plugins.zip)")
    package.add_argument("--airflow-version", default=None)
    package.set_defaults(handler=package_requirements)

    test_script = commands.add_parser("test-startup-script", help="run a startup script as a component would")
    test_script.add_argument("source", help="the script, or a folder or local bucket name holding startup.sh")
    test_script.add_argument("--component", default="worker")
    test_script.add_argument("--timeout", type=float, default=None)
    test_script.set_defaults(handler=test_startup_script)

    logs = commands.add_parser("logs", help="an environment's component and task logs")
    logs.add_argument("name")
    logs.add_argument("--component", help="scheduler, worker, webserver, dag-processor, triggerer or task")
    logs.add_argument("--grep", help="only lines matching this regular expression")
    logs.add_argument("--follow", action="store_true")
    logs.set_defaults(handler=show_logs)

    # `env` may also be registered by another command module: add to its sub-commands when it is
    env = commands.choices.get("env") or commands.add_parser("env", help="environment operations beyond MWAA's")
    group = next((a for a in env._actions if isinstance(a, argparse._SubParsersAction)), None) \
        or env.add_subparsers(dest="env_command", required=True)
    confirm = group.add_parser("confirm-endpoints", help="EndpointManagement=CUSTOMER: the endpoints exist now")
    confirm.add_argument("name")
    confirm.set_defaults(handler=confirm_endpoints)


def _source_file(settings: Settings, source: str, name: str) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    folder = path if path.is_dir() else settings.buckets_dir / source
    return folder / name


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _resolve_new(settings: Settings, source: str, version: str | None) -> tuple[Path, str, list[str]]:
    """(requirements.txt, Airflow version, the pins it adds to the version's venv); errors.Permanent."""
    from aerodrome.domain.spec import DEFAULT_AIRFLOW_VERSION
    from aerodrome.runtimes.local import overlays, plugins, venvs

    requirements = _source_file(settings, source, "requirements.txt")
    if not requirements.is_file():
        raise errors.Permanent(f"no requirements.txt at {requirements}")
    version = version or DEFAULT_AIRFLOW_VERSION
    venv = venvs.ensure_venv(settings.venvs_dir, version, progress=print)
    with tempfile.TemporaryDirectory() as work:
        plugins_dir = Path(work) / "plugins"
        archive = requirements.with_name("plugins.zip")
        if archive.is_file():
            plugins.extract(archive.read_bytes(), plugins_dir)
        else:
            plugins_dir.mkdir()
        try:
            text = requirements.read_text()
        except UnicodeDecodeError as exc:
            raise errors.Permanent(f"{requirements} is not UTF-8 text") from exc
        resolved = overlays.resolve(Path(work), version, venv, text, plugins_dir=plugins_dir, say=print)
    installed = overlays.base_packages(venv)
    return requirements, version, [line for line in overlays.requirement_lines(resolved)
                                   if overlays.is_new(line, installed)]


def test_requirements(args: argparse.Namespace, settings: Settings) -> int:
    try:
        _, version, new = _resolve_new(settings, args.source, args.airflow_version)
    except errors.Permanent as exc:
        return _fail(str(exc))
    print(f"requirements.txt resolves for Airflow {version}; it adds: {', '.join(new) or 'nothing'}")
    return 0


def package_requirements(args: argparse.Namespace, settings: Settings) -> int:
    """Wheels for what requirements.txt adds, for this host's platform, in a plugins.zip (plus its old content)."""
    import zipfile

    from aerodrome.runtimes.local import binaries, venvs

    try:
        requirements, version, new = _resolve_new(settings, args.source, args.airflow_version)
    except errors.Permanent as exc:
        return _fail(str(exc))
    python = venvs.venv_path(settings.venvs_dir, version) / "bin" / "python"
    output = Path(args.output).resolve()
    with tempfile.TemporaryDirectory() as work:
        wheels = Path(work) / "wheels"
        if new:
            result = subprocess.run([str(binaries.uv()), "tool", "run", "--quiet", "--from", "pip", "--python",
                                     str(python), "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                                     "--dest", str(wheels), *new], capture_output=True, text=True)
            if result.returncode != 0:
                return _fail("downloading wheels failed (a package without a wheel for this platform must be "
                             f"built first): {' '.join(result.stderr.split())[-1500:]}")
        temp = output.with_name(f".{output.name}.tmp")
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as out:
            existing = requirements.with_name("plugins.zip")
            if existing.is_file() and existing.resolve() != output:
                with zipfile.ZipFile(existing) as old:
                    for info in old.infolist():
                        out.writestr(info, old.read(info))
            for wheel in sorted(wheels.glob("*.whl")) if wheels.exists() else []:
                out.write(wheel, wheel.name)
        temp.replace(output)
    print(f"wrote {output} with {len(new)} wheel(s); install them with this requirements.txt:")
    print("--no-index\n--find-links /usr/local/airflow/plugins\n" + "\n".join(new))
    return 0


def test_startup_script(args: argparse.Namespace, settings: Settings) -> int:
    from aerodrome.domain import classes
    from aerodrome.runtimes.local import launcher

    script = _source_file(settings, args.source, "startup.sh")
    if not script.is_file():
        return _fail(f"no startup script at {script}")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home()), "MWAA_AIRFLOW_COMPONENT": args.component,
           launcher.KEEP_VAR: ",".join(sorted(classes.RESERVED_VARIABLES))}
    show = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "startup_script_execution.log"
        result = subprocess.run([sys.executable, launcher.__file__, "--script", str(script), "--timeout",
                                 str(args.timeout or settings.startup_script_timeout), "--log", str(log), "--", *show],
                                env=env, capture_output=True, text=True)
        print(log.read_text() if log.exists() else "", end="")
    if result.returncode != 0:
        return _fail(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "the script failed")
    exported = {k: v for k, v in json.loads(result.stdout).items() if env.get(k) != v and k != "PWD"}
    for key in sorted(exported):
        print(f"exports {key}")
    return 0


def _environments(store: Store, settings: Settings) -> EnvironmentService:
    from aerodrome.runtimes.local.placement import HostPlacements
    from aerodrome.services.environments import EnvironmentService

    return EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings), wake=lambda _: None)


def _placement(settings: Settings, name: str) -> dict:
    from aerodrome.store.db import Store

    store = Store(settings.store_url)
    try:
        service = _environments(store, settings)
        return {"placement": service.placement(name), "spec": service.get(name).spec}
    finally:
        store.close()


def _log_files(root: Path, component: str | None) -> list[Path]:
    logs = root / "logs"
    found = []
    if component in (None, "task"):
        found += sorted((logs / "task").rglob("*.log")) if (logs / "task").exists() else []
    if component != "task":
        for path in sorted(logs.glob("*.log")) + sorted((logs / "startup_script_execution").glob("*.log")):
            stem = path.stem.rsplit("-", 1)[0] if path.stem.split("-")[-1].isdigit() else path.stem
            if component is None or stem == component or (component == "webserver" and stem == "api-server"):
                found.append(path)
    return found


def show_logs(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found = _placement(settings, args.name)
    except errors.NotFound as exc:
        return _fail(str(exc))
    root, spec = found["placement"].root, found["spec"]
    if args.component and args.component not in LOG_TYPES:
        return _fail(f"unknown component {args.component}; choose one of {', '.join(sorted(LOG_TYPES))}")
    if args.component:
        log_type = f"{LOG_TYPES[args.component].replace('WebServer', 'Webserver').replace('DAGP', 'DagP')}Logs"
        setting = spec.logging.get(log_type)
        if setting is not None and not setting.enabled:
            return _fail(f"{log_type} are disabled for {args.name} (LoggingConfiguration); enable them with "
                         "update-environment.")
    pattern = re.compile(args.grep) if args.grep else None
    positions: dict[Path, int] = {}
    while True:
        for path in _log_files(root, args.component):
            group = f"airflow-{args.name}-{_log_type(path)}"
            with open(path, "rb") as handle:
                handle.seek(positions.get(path, 0))
                for raw in handle:
                    line = raw.decode(errors="replace").rstrip("\n")
                    if pattern is None or pattern.search(line):
                        print(f"{group} {path.relative_to(root / 'logs')}: {line}")
                positions[path] = handle.tell()
        if not args.follow:
            return 0
        sys.stdout.flush()
        time.sleep(1)


def _log_type(path: Path) -> str:
    if "task" in path.parts:
        return "Task"
    stem = path.stem.rsplit("-", 1)[0] if path.stem.split("-")[-1].isdigit() else path.stem
    return LOG_TYPES.get(stem, "Scheduler")


def confirm_endpoints(args: argparse.Namespace, settings: Settings) -> int:
    """A request to the running control plane, which authorizes it and wakes the reconciler."""
    from urllib.parse import quote

    from aerodrome.cli.ext_client import ExtClient, reporting

    client = ExtClient(settings)

    def work() -> int:
        reply = client.request("POST", f"/environments/{quote(args.name, safe='')}/confirm-endpoints")
        print(f"{args.name}: endpoints confirmed; the environment is {reply['Status']}")
        return 0

    return reporting("env confirm-endpoints", client, work)
