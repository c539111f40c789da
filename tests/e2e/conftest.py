import contextlib
import os
import random
import time
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

from aerodrome.app import ControlPlane
from aerodrome.settings import Settings
from tests.api.conftest import free_port

# Airflow venvs are reused across runs (they take a minute or two to build the first time).
VENVS = Path(os.environ.get("AERODROME_TEST_VENVS", Path.home() / ".cache" / "aerodrome" / "test-venvs"))


def wait_for(predicate, *, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def env_ports() -> dict:
    """A port range for environments away from the default one other control planes on this host use."""
    low = random.randrange(20000, 30000)
    return {"env_port_min": low, "env_port_max": low + 50}


@contextlib.contextmanager
def running_plane(tmp_path: Path, **settings_overrides):
    """A started control plane in `tmp_path`, closed on exit; overrides go to its Settings."""
    settings = Settings(home=tmp_path / "home", port=free_port(), s3_port=free_port(), venv_root=VENVS,
                        resync_interval=2.0, **{**env_ports(), **settings_overrides})
    control_plane = ControlPlane(settings)
    control_plane.start()
    try:
        yield control_plane
    finally:
        control_plane.close()


@pytest.fixture
def plane(tmp_path):
    with running_plane(tmp_path) as control_plane:
        yield control_plane


@pytest.fixture
def clients(plane):
    key, secret = plane.credentials.admin()
    config = Config(inject_host_prefix=False, retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    common = {"aws_access_key_id": key, "aws_secret_access_key": secret, "region_name": "us-east-1", "config": config}
    return (boto3.client("mwaa", endpoint_url=plane.settings.endpoint_url, **common),
            boto3.client("s3", endpoint_url=f"http://127.0.0.1:{plane.settings.s3_port}", **common))


class Airflow:
    """The environment's own REST API, as its admin user."""

    def __init__(self, plane: ControlPlane, name: str):
        self.placement = plane.environments.placement(name)
        self.base = f"http://127.0.0.1:{self.placement.web_port}"
        user, password = plane.driver.web_login(self.placement)
        reply = httpx.post(f"{self.base}/auth/token", json={"username": user, "password": password}, timeout=10)
        reply.raise_for_status()
        self.headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.base}/api/v2{path}", headers=self.headers, timeout=30)

    def post(self, path: str, body: dict) -> httpx.Response:
        return httpx.post(f"{self.base}/api/v2{path}", headers=self.headers, json=body, timeout=30)

    def run_states(self, dag_id: str) -> list[str]:
        reply = self.get(f"/dags/{dag_id}/dagRuns")
        return [r["state"] for r in reply.json().get("dag_runs", [])] if reply.status_code == 200 else []
