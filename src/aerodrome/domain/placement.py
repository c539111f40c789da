"""Where an environment lives: chosen by its runtime at create, kept in the store, never changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Placement:
    env_id: str  # short stable id, safe for database names, e.g. "e3f9a1c2"
    root: Path  # environment directory: dags/, plugins/, logs/, airflow_home/ ...
    web_port: int  # api-server (Airflow 3) or webserver (Airflow 2) port on 127.0.0.1
    broker_db: int  # Redis database number (namespace) of this environment
    gateway_port: int | None = None  # the web endpoint's port (environments made before it had none)

    @property
    def dags_dir(self) -> Path:
        return self.root / "dags"

    @property
    def team_dags_root(self) -> Path:
        """The teams' DAG folders (multi-team mode): outside `dags/`, which is the global bundle."""
        return self.root / "team_dags"

    def team_dags_dir(self, team: str) -> Path:
        return self.team_dags_root / team

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def endpoint_port(self) -> int:
        """The port of the environment's web endpoint (older placements: the api-server's)."""
        return self.gateway_port or self.web_port

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"env_id": self.env_id, "root": str(self.root), "web_port": self.web_port}
        if self.gateway_port is not None:
            data["gateway_port"] = self.gateway_port
        data["broker_db"] = self.broker_db
        return data

    @classmethod
    def from_json(cls, data: dict) -> Placement:
        return cls(env_id=data["env_id"], root=Path(data["root"]), web_port=data["web_port"],
                   broker_db=data["broker_db"], gateway_port=data.get("gateway_port"))
