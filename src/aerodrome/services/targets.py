"""The running environment a call is about: its spec, placement and web endpoint hostname."""

from __future__ import annotations

from dataclasses import dataclass

from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.services.environments import EnvironmentService


@dataclass(frozen=True)
class Target:
    name: str
    spec: EnvironmentSpec
    placement: Placement
    hostname: str

    @property
    def major(self) -> int:
        return int(self.spec.airflow_version.split(".")[0])

    @property
    def api_base(self) -> str:
        """The environment's api-server (Airflow 3) or webserver (Airflow 2)."""
        return f"http://127.0.0.1:{self.placement.web_port}"


def find(environments: EnvironmentService, name: str) -> Target:
    """errors.NotFound when there is no such environment."""
    view = environments.get(name)
    return Target(name, view.spec, environments.placement(name), view.webserver_url or "")
