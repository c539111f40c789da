"""Figures for the foundation: create -> AVAILABLE, DAG file -> visible in Airflow, idle memory.

Runs `aerodrome up --no-demo` in a temporary home and drives it with boto3, like a user would.

    uv run python bench/environment.py [--runs 3] [--cold]

--cold builds the Airflow venv from scratch (the uv download cache stays warm) instead of reusing
the shared one. Prints medians (and min/max) over the runs.
"""

from __future__ import annotations

import json
import ssl
import sys
import time

import httpx
import psutil
import support


def main() -> int:
    parser = support.runs_parser(__doc__)
    parser.add_argument("--cold", action="store_true", help="build the Airflow venv from scratch")
    args = parser.parse_args()
    venvs = None if args.cold else support.SHARED_VENVS
    with support.running_up(venvs=venvs) as up:
        return run(up, args.runs, cold=args.cold)


def run(up: support.Up, runs: int, *, cold: bool) -> int:
    (up.home / "buckets" / support.BUCKET / "dags").mkdir(parents=True)
    creates, visible = [], []
    for index in range(runs):
        name = f"bench{index}"
        started = time.monotonic()
        up.create_available(name)
        creates.append(time.monotonic() - started)
        print(f"create {name}: {creates[-1]:.1f} s", flush=True)
        visible.append(dag_visible(up, name, index))
        print(f"DAG visible in {name}: {visible[-1]:.1f} s", flush=True)
        if index < runs - 1:
            up.mwaa.delete_environment(Name=name)
            support.wait(lambda name=name: name not in up.mwaa.list_environments()["Environments"], 120, "delete")
    time.sleep(30)  # let the last environment settle before measuring it idle
    environments = up.home / "environments"
    env_root = str(next(environments.iterdir()))
    members = [p for p in psutil.process_iter(["cwd"]) if (p.info["cwd"] or "").startswith(env_root)]
    env_rss = sum(p.memory_info().rss for p in members)
    env_pss = sum(p.memory_full_info().pss for p in members)  # forked children share pages: PSS counts them once
    plane_rss = psutil.Process(up.process.pid).memory_info().rss
    shared = sum(p.memory_info().rss for p in psutil.Process(up.process.pid).children(recursive=True)
                 if not (p.cwd() or "").startswith(str(environments)))
    print()
    support.report(("CreateEnvironment -> AVAILABLE" + (" (cold venv)" if cold else ""), creates, "s"),
                   ("DAG file in bucket -> in Airflow API", visible, "s"))
    print(support.figure("idle environment PSS (all components)", env_pss / 2**20, "MiB",
                         note=f"{len(members)} processes"))
    print(support.figure("idle environment RSS sum (double-counts)", env_rss / 2**20, "MiB"))
    print(support.figure("control plane RSS", plane_rss / 2**20, "MiB"))
    print(support.figure("PostgreSQL + Redis + S3 server RSS", shared / 2**20, "MiB"))
    return 0


def dag_visible(up: support.Up, name: str, index: int) -> float:
    env_dir = next(p for p in (up.home / "environments").iterdir())
    host = up.mwaa.get_environment(Name=name)["Environment"]["WebserverUrl"]
    bundle = up.creds.get("REQUESTS_CA_BUNDLE")
    web, verify = (f"https://{host}", ssl.create_default_context(cafile=bundle)) if bundle else (f"http://{host}", True)
    password = json.loads((env_dir / "secrets" / "passwords.json").read_text())["admin"]
    token = httpx.post(f"{web}/auth/token", json={"username": "admin", "password": password},
                       verify=verify).json()["access_token"]
    dag_id = f"bench_dag_{index}_{int(time.time())}"
    started = time.monotonic()
    (up.home / "buckets" / support.BUCKET / "dags" / f"{dag_id}.py").write_bytes(support.bash_dag(dag_id))
    support.wait(lambda: httpx.get(f"{web}/api/v2/dags/{dag_id}", headers={"Authorization": f"Bearer {token}"},
                                   verify=verify).status_code == 200, 120, "the DAG", 0.2)
    return time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
