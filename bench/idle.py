"""Idle cost: N idle environments (one small DAG each, on a 5-minute schedule) on one control plane.
Reports the total CPU all of it takes (% of one core: the control plane, every environment's
processes, the shared PostgreSQL server and each environment's broker), where it goes by process
kind, and the PSS per environment (its own processes, plus its share of the shared servers and the
control plane). CPU is CPU-seconds consumed per wall second from psutil's cpu_times (reaped
children included), so it holds on a busy host; each figure is the median over --samples windows.

    uv run python bench/idle.py [--environments 10] [--samples 5] [--window 30] [--settle 60]
                                [--idle-sleep MINUTES [--wake-lead S]]
    uv run python bench/idle.py --wake 5 [--deep]

With --idle-sleep, every environment sleeps after that many quiet minutes (the plane's default) and
wakes --wake-lead seconds before its next run; the bench waits until each has slept once, then
measures (windows that take in wakes for the 5-minute runs too: use --window 60 for a whole period).
--wake N measures, N times on one environment asleep, how long a web request through its endpoint
takes to be answered, and how long from an InvokeRestApi call that triggers a run (it waits for
the wake) to that run's first task running: from a light sleep (frozen processes), or with --deep
from a deep one (processes stopped).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import httpx
import psutil
import support

from aerodrome.app import ControlPlane


def scheduled_dag(dag_id: str, schedule: str = "*/5 * * * *") -> bytes:
    return f'''
import datetime
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator
with DAG("{dag_id}", start_date=datetime.datetime(2026, 1, 1), schedule="{schedule}", catchup=False):
    BashOperator(task_id="t", bash_command="true")
'''.encode()


def kind(process: psutil.Process, plane_pid: int) -> str:
    """What a process under the control plane is: its supervised component (by the top ancestor's
    command line, below the control plane or the environment's fork server), the fork server, the
    shared PostgreSQL server, a broker, or the control plane itself."""
    if process.pid == plane_pid:
        return "control plane (and its psql/tools)"
    chain = [process]
    try:
        while (parent := chain[-1].parent()) is not None and parent.pid != plane_pid \
                and "forkserver" not in " ".join(parent.cmdline()):  # a component it forked
            chain.append(parent)
        words = " ".join(chain[-1].cmdline())
    except psutil.Error:
        return "gone"
    if "forkserver" in words:
        return "fork server"
    if "postgres" in words and "-D" in words:
        return "postgres (shared server)"
    if "redis" in words:
        return "broker (redis)"
    if "celery" in words:
        return "celery worker"
    if "api_server" in words or "api-server" in words:
        return "api-server"
    for name in ("scheduler", "dag-processor", "triggerer", "webserver"):
        if name in words:
            return name
    return "other: " + words[:60]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def look(plane_pid: int, *, memory: bool = False) -> dict[int, tuple[str, float, int]]:
    """pid -> (kind, CPU seconds so far, parent pid), or (kind, PSS bytes, parent pid) with `memory`,
    for the control plane and everything under it."""
    me = psutil.Process(plane_pid)
    seen: dict[int, tuple[str, float, int]] = {}
    for process in [me, *me.children(recursive=True)]:
        try:
            with process.oneshot():
                seen[process.pid] = (kind(process, plane_pid),
                                     float(process.memory_full_info().pss) if memory else cpu_seconds(process),
                                     process.ppid())
        except psutil.Error:
            continue
    return seen


def window(plane_pid: int, seconds: float) -> tuple[dict[str, float], float, dict[str, float]]:
    """CPU % of one core by kind over `seconds` (less what this bench's own looking cost the control
    plane's process, which it shares), the total, and PSS bytes by kind after it. A process that ended
    in the window came back in its parent's reaped-children times whole: what it had used before the
    window is taken off its parent's kind again."""
    own = time.thread_time()
    first, started = look(plane_pid), time.monotonic()
    time.sleep(seconds)
    last = look(plane_pid)
    elapsed, own = time.monotonic() - started, time.thread_time() - own
    by_kind: dict[str, float] = defaultdict(float)
    for pid, (what, cpu, _) in last.items():
        before = first.get(pid)
        by_kind[what] += 100 * (cpu - (before[1] if before else 0.0) - (own if pid == plane_pid else 0.0)) / elapsed
    for pid, (_, cpu, parent) in first.items():
        if pid not in last and parent in first:
            by_kind[first[parent][0]] -= 100 * cpu / elapsed
    pss: dict[str, float] = defaultdict(float)
    for what, memory, _ in look(plane_pid, memory=True).values():
        pss[what] += memory
    return dict(by_kind), sum(by_kind.values()), dict(pss)


def measure(plane: ControlPlane, args: argparse.Namespace, plane_pid: int) -> int:
    names = [f"idle{i}" for i in range(args.environments)]
    tags: dict[str, str] = {}
    started = time.monotonic()
    for name in names:  # one at a time: each placement sees the ports the ones before it took
        plane.environments.create(support.bench_spec(name), tags=tags)
    for name in names:
        settled = support.wait_status(plane, name, lambda s: s != "CREATING", 1200, f"{name} to be created", 1)
        if settled != "AVAILABLE":
            raise SystemExit(f"{name} is {settled}: {plane.environments.get(name).last_update}")
    print(f"{len(names)} environments AVAILABLE in {time.monotonic() - started:.0f} s", flush=True)
    if args.idle_sleep is not None:
        slept: set[str] = set()

        def all_slept() -> bool:
            slept.update(name for name in names if support.status(plane, name) == "HIBERNATED")
            return len(slept) == len(names)

        support.wait(all_slept, 900, "every environment to sleep once", 2)
        print("every environment has slept", flush=True)
    time.sleep(args.settle)
    totals: list[float] = []
    kinds: dict[str, list[float]] = defaultdict(list)
    pss_samples: list[dict[str, float]] = []
    for _ in range(args.samples):
        by_kind, total, pss = window(plane_pid, args.window)
        totals.append(total)
        for what in set(by_kind) | set(kinds):
            kinds[what].append(by_kind.get(what, 0.0))
        pss_samples.append({what: memory / 2**20 for what, memory in pss.items()})
        asleep = sum(support.status(plane, name) == "HIBERNATED" for name in names)
        print(f"  sample: {total:.1f} % of one core ({asleep} of {len(names)} asleep at its end)", flush=True)
    n = len(names)
    print(f"\n{n} idle environments, {args.samples} windows of {args.window:.0f} s"
          + (f", idle sleep {args.idle_sleep} min" if args.idle_sleep is not None else ""))
    print(f"mean total CPU {statistics.fmean(totals):.1f} % of one core"
          + (" (the figure for idle sleep: its windows cover whole periods of the schedule)"
             if args.idle_sleep is not None else ""))
    support.report((f"total CPU ({n} environments)", totals, "% of one core"),
                   ("total CPU per environment", [t / n for t in totals], "% of one core"), width=44)
    # asleep, a window holds a wake for the runs or not: over a whole period the mean is the cost
    print("\nCPU by process kind (all environments), % of one core:   median     mean")
    for what, values in sorted(kinds.items(), key=lambda item: -statistics.fmean(item[1])):
        print(f"  {what:<40} {statistics.median(values):15.2f} {statistics.fmean(values):8.2f}")
    shared = ("postgres (shared server)", "control plane (and its psql/tools)")
    pss_kinds = {what: [sample.get(what, 0.0) for sample in pss_samples] for sample in pss_samples for what in sample}
    pss_total = [sum(sample.values()) for sample in pss_samples]
    own = [sum(memory for what, memory in sample.items() if what not in shared) for sample in pss_samples]
    print("\nPSS by process kind (all environments), median MiB:")
    for what, values in sorted(pss_kinds.items(), key=lambda item: -statistics.median(item[1])):
        print(f"  {what:<40} {statistics.median(values):9.1f}")
    support.report(("PSS per environment, own processes", [o / n for o in own], "MiB"),
                   ("PSS per environment, with shared servers", [t / n for t in pss_total], "MiB"), width=44)
    return 0


def wake(plane: ControlPlane, runs: int, *, deep: bool) -> int:
    """Web request answered, and InvokeRestApi -> first task running, each from sleep, `runs` times."""
    env = support.bench_spec("sleepy")
    plane.environments.create(env, tags={"aerodrome:idle-sleep": "0.05"})
    support.wait_status(plane, "sleepy", lambda s: s != "CREATING", 900, "sleepy to be created", 1)
    key, _ = plane.credentials.admin()
    web = f"https://{plane.environments.get('sleepy').webserver_url}/api/v2/monitor/health"
    bundle = str(plane.gateways.tls.bundle) if plane.gateways.tls else False
    database = f"env_{plane.environments.placement('sleepy').env_id}"

    def asleep() -> bool:  # and as deeply as asked: frozen processes, or none
        frozen = plane.driver.frozen_since(plane.environments.placement("sleepy")) is not None
        return support.status(plane, "sleepy") == "HIBERNATED" and frozen != deep

    def running(run_id: str) -> bool:
        state = plane.driver.postgres.sql(f"SELECT state FROM task_instance WHERE run_id = '{run_id}'",
                                          database=database)
        return state in ("running", "success")

    answered, first_task = [], []
    for _ in range(runs):
        support.wait(asleep, 300, "sleep", 0.5)
        started = time.monotonic()
        reply = httpx.get(web, verify=bundle, timeout=300)
        answered.append(time.monotonic() - started)
        if reply.status_code != 200:
            raise SystemExit(f"the web request got {reply.status_code}: {reply.text}")
        support.wait(asleep, 300, "sleep", 0.5)
        started = time.monotonic()
        reply = plane.rest_api.invoke_rest_api(key, {"Name": "sleepy", "Method": "POST", "Path": "/dags/quick/dagRuns",
                                                      "Body": {"logical_date": None}})
        run_id = reply["RestApiResponse"]["dag_run_id"]
        support.wait(lambda run_id=run_id: running(run_id), 300, "the first task", 0.2)
        first_task.append(time.monotonic() - started)
    depth = "deep" if deep else "light"
    support.report((f"web request to a {depth}-sleeping env answered", answered, "s"),
                   (f"wake from {depth} sleep (InvokeRestApi) -> first task running", first_task, "s"), width=52)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--environments", type=int, default=10)
    parser.add_argument("--samples", type=int, default=5, help="CPU windows to take the median of")
    parser.add_argument("--window", type=float, default=30.0, help="seconds per CPU window")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait before measuring")
    parser.add_argument("--idle-sleep", type=float, default=None, help="plane-wide idle sleep (minutes)")
    parser.add_argument("--wake-lead", type=float, default=45.0, help="with --idle-sleep: wake this early (s)")
    parser.add_argument("--wake", type=int, default=0, help="measure N wakes of one environment instead")
    parser.add_argument("--deep", action="store_true", help="with --wake: from a deep sleep (processes stopped)")
    parser.add_argument("--schedule", default="*/5 * * * *", help="the DAG's cron schedule (default every 5 min)")
    args = parser.parse_args()
    if args.wake:
        dags = {"quick.py": support.bash_dag("quick")}
        with support.started_plane(dags, idle_sleep_interval=1.0,
                                   idle_sleep_deep_minutes=0.0 if args.deep else 60.0) as plane:
            return wake(plane, args.wake, deep=args.deep)
    overrides: dict[str, object] = {}
    if args.idle_sleep is not None:
        overrides = {"idle_sleep_minutes": args.idle_sleep, "idle_sleep_wake_lead": args.wake_lead,
                     "idle_sleep_interval": 5.0}
    dags = {"idle.py": scheduled_dag("idle", args.schedule)}
    with support.started_plane(dags, **overrides) as plane:
        return measure(plane, args, psutil.Process().pid)


if __name__ == "__main__":
    raise SystemExit(main())
