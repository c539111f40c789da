"""`aerodrome up`: run the control plane in the foreground, with a demo environment and progress."""

from __future__ import annotations

import fcntl
import logging
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console

from aerodrome import errors
from aerodrome.settings import Settings

if TYPE_CHECKING:
    from aerodrome.app import ControlPlane

DEMO_ENV = "demo"
DEMO_BUCKET = "aerodrome-demo"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

console = Console(highlight=False)


def run_up(settings: Settings, *, demo: bool) -> int:
    from aerodrome.app import ControlPlane

    settings.home.mkdir(parents=True, exist_ok=True)
    lock = _single_instance(settings)
    if lock is None:
        console.print(f"[red]Another aerodrome is already running with home {settings.home}.[/red] "
                      "Stop it first, or set AERODROME_HOME to use another home.")
        return 1
    _log_to_file(settings)
    progress = _ProgressBoard()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"Aerodrome home: {settings.home}")
    plane = ControlPlane(settings, progress=progress.update)
    try:
        plane.start()
        _print_endpoints(plane)
        if demo:
            _run_demo(plane, progress, stop)
        console.print("Running. Press Ctrl-C to stop (environments restart on the next `aerodrome up`).")
        stop.wait()
    finally:
        with console.status("Stopping every process Aerodrome started…"):
            plane.close()
        console.print("Stopped.")
    return 0


class _ProgressBoard:
    """Collects progress lines from the reconciler; the CLI shows the newest."""

    def __init__(self) -> None:
        self.lines: dict[str, str] = {}

    def update(self, name: str, line: str) -> None:
        self.lines[name] = line
        logging.getLogger("aerodrome.progress").info("%s: %s", name, line)


def _run_demo(plane: ControlPlane, progress: _ProgressBoard, stop: threading.Event) -> None:
    from aerodrome.domain.spec import EnvironmentSpec

    bucket = plane.settings.buckets_dir / DEMO_BUCKET
    if not bucket.exists():
        shutil.copytree(EXAMPLES, bucket)
    try:
        view = plane.environments.get(DEMO_ENV)
    except errors.NotFound:
        plane.environments.create(EnvironmentSpec(
            name=DEMO_ENV,
            execution_role_arn=f"arn:aws:iam::{plane.settings.account}:role/aerodrome-demo",
            source_bucket_arn=f"arn:aws:s3:::{DEMO_BUCKET}",
            dag_s3_path="dags",
            subnet_ids=("subnet-demo-a", "subnet-demo-b"),
            security_group_ids=("sg-demo",),
            airflow_configuration_options={"core.dags_are_paused_at_creation": "False"},
        ), tags={"aerodrome:demo": "true"})
        view = plane.environments.get(DEMO_ENV)
    started = time.monotonic()
    with console.status("Demo environment: starting…") as status:
        while not stop.is_set() and view.status.value in ("CREATING", "UPDATING", "ROLLING_BACK"):
            line = progress.lines.get(DEMO_ENV, "")
            status.update(f"Demo environment {view.status.value} ({time.monotonic() - started:.0f} s) {line}")
            time.sleep(0.5)
            view = plane.environments.get(DEMO_ENV)
    if view.status.value != "AVAILABLE":
        error = view.last_update.error_message or "see the log"
        console.print(f"[red]Demo environment is {view.status.value}:[/red] {error}")
        console.print(f"Control-plane log: {plane.settings.logs_dir / 'aerodrome.log'}")
        return
    console.print(f"[green]Demo environment AVAILABLE[/green] in {time.monotonic() - started:.0f} s")
    scheme = "https" if plane.settings.web_tls else "http"
    console.print(f"  Airflow UI:   {scheme}://{view.webserver_url}/  (sign in with a web login token, or:)")
    user, password = plane.driver.web_login(plane.environments.placement(DEMO_ENV))
    console.print(f"  Airflow login: {user} / {password}")
    console.print(f"  DAGs bucket:  {plane.settings.buckets_dir / DEMO_BUCKET / 'dags'}"
                  f"  (s3://{DEMO_BUCKET}/dags/)")


def _print_endpoints(plane: ControlPlane) -> None:
    from aerodrome.cli.client_env import client_env_vars

    values = client_env_vars(plane.settings, with_s3=plane.settings.serve_s3)
    console.print(f"MWAA API:     {values['AWS_ENDPOINT_URL_MWAA']}  (region {plane.settings.region})")
    console.print(f"Access key:   {values['AWS_ACCESS_KEY_ID']}  (secret: `uv run aerodrome client-env`)")
    if "AWS_ENDPOINT_URL_S3" in values:
        console.print(f"S3 API:       {values['AWS_ENDPOINT_URL_S3']}  (buckets in {plane.settings.buckets_dir})")
    console.print('Clients:      eval "$(uv run aerodrome client-env --with-s3)"; aws mwaa list-environments')
    if plane.console is not None:
        console.print(f"Web console:  {plane.settings.console_url}  (sign in with the access key)")
    from aerodrome.cli import hosts

    missing = hosts.unresolved(plane.settings)
    if missing:
        console.print(f"Terraform, Go and JavaScript SDKs call {' and '.join(missing)}, which do not resolve here: "
                      "run `sudo uv run aerodrome hosts install`")


def _single_instance(settings: Settings) -> TextIO | None:
    handle = open(settings.home / ".up.lock", "w")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def _log_to_file(settings: Settings) -> None:
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(settings.logs_dir / "aerodrome.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
