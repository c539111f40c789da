"""Airflow CLI commands run for an environment, with its configuration as its scheduler sees it."""

from __future__ import annotations

import logging
import subprocess

from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.runtimes.local import airflow_env, contents, processes
from aerodrome.runtimes.local.supervisor import as_user
from aerodrome.runtimes.local.versions_ready import ReadyVersions
from aerodrome.runtimes.local.wiring import EnvironmentWiring, base_env

REFRESH_TIMEOUT = 300
log = logging.getLogger(__name__)


class CliBridge:
    def __init__(self, *, versions: ReadyVersions, wiring: EnvironmentWiring):
        self._versions = versions
        self._wiring = wiring

    def run(self, spec: EnvironmentSpec, placement: Placement, *args: str, timeout: float = 120,
            stdin: str = "") -> subprocess.CompletedProcess[str]:
        """`airflow ARGS` with the environment's configuration and staged contents. `stdin` is all the
        command reads: it has no terminal (its own session), so a prompt reads `stdin` or ends."""
        venv, template = self._versions.get(spec.airflow_version)
        wiring = self._wiring.wire(placement, template)
        env = airflow_env.component_env(spec, placement, wiring, component="scheduler", base=base_env(venv))
        env.update((contents.staged(spec, placement) or contents.Staged(placement.root / "plugins")).env())
        return subprocess.run([str(venv / "bin" / "airflow"), *args], env=env, capture_output=True,
                              text=True, timeout=timeout, input=stdin, start_new_session=True,
                              cwd=placement.root, **as_user(wiring.user))

    def refresh_next_runs(self, spec: EnvironmentSpec, placement: Placement) -> None:
        """`airflow dags reserialize` parses every DAG and writes its next run computed from now: without
        it the scheduler first creates the run that was next when it stopped, even for catchup=False."""
        try:
            done = self.run(spec, placement, "dags", "reserialize", timeout=REFRESH_TIMEOUT)
            failure = done.stderr.strip()[-processes.LOG_TAIL:] if done.returncode != 0 else ""
        except subprocess.TimeoutExpired:
            failure = f"it took longer than {REFRESH_TIMEOUT} s"
        if failure:
            log.warning("%s: refreshing next runs failed, so a catchup=False DAG may run one missed interval: %s",
                        placement.env_id, failure)
