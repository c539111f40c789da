"""Idle sleep end to end (the shared plane looks every second, wakes 10 s before a run and turns a
sleep deep after 30 s with no run due): an environment tagged `aerodrome:idle-sleep` sleeps once
nobody uses it, its processes frozen; it wakes for a web request and an InvokeRestApi call (each waits
until its web server answers, then succeeds) and for its next scheduled run, the same processes going
on; a long sleep stops them, and a request then starts them again. Every sleep, deepening and wake is
a `hibernate` event, and the run history survives."""

import time

import httpx
import psutil
import pytest

from tests.support import (
    UNPAUSED,
    create,
    events_of,
    metadata_server,
    placement_of,
    status,
    trusting,
    wait_for,
)

pytestmark = pytest.mark.e2e

QUIET_MINUTES = "0.05"  # 3 s without a request
# paused until the test unpauses it through InvokeRestApi; then a run every minute
TICK = b'''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("tick", start_date=datetime.datetime(2026, 1, 1), schedule="* * * * *", catchup=False,
         is_paused_upon_creation=True):
    BashOperator(task_id="t", bash_command="echo tick")
'''


def test_sleeps_when_idle_and_wakes_for_requests_and_its_next_run(plane, clients, env_vars):
    mwaa, s3 = clients
    env = create(mwaa, s3, "sleepy", "sleepy-bucket", TICK, AirflowConfigurationOptions=UNPAUSED)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    database = f"env_{placement_of(plane, 'sleepy').env_id}"

    def query(sql: str) -> int:  # the metadata database stays up while the environment sleeps
        return int(metadata_server(plane).sql(sql, database=database) or 0)

    def runs() -> int:
        return query("SELECT count(*) FROM dag_run WHERE dag_id = 'tick' AND state = 'success'")

    def invoke(method: str, path: str, **body):
        return mwaa.invoke_rest_api(Name="sleepy", Method=method, Path=path, **({"Body": body} if body else {}))

    def asleep() -> bool:
        return status(mwaa, "sleepy") == "HIBERNATED"

    def hibernation_events(phase: str) -> list[dict]:
        return [e["detail"] for e in events_of(plane, "sleepy", "Aerodrome Environment Hibernation")
                if e["detail"].get("phase") == phase]

    def wakes() -> list[str]:
        return [detail["reason"] for detail in hibernation_events("wake")]

    def scheduler() -> psutil.Process:
        _, pid, _ = plane.driver.supervisor.state(f"{placement_of(plane, 'sleepy').env_id}/scheduler-1")
        assert pid is not None
        return psutil.Process(pid)

    # asleep once opted in: no request for 3 s and nothing scheduled (tick is paused)
    wait_for(lambda: query("SELECT count(*) FROM dag WHERE dag_id = 'tick'") == 1, timeout=120, what="the DAG")
    mwaa.tag_resource(ResourceArn=env["Arn"], Tags={"aerodrome:idle-sleep": QUIET_MINUTES})
    awake = scheduler()
    wait_for(asleep, timeout=120, what="the first sleep")
    sleep = hibernation_events("sleep")[0]
    assert sleep["reason"] == "idle" and sleep["idleMinutes"] == float(QUIET_MINUTES)
    wait_for(lambda: scheduler().status() == psutil.STATUS_STOPPED, timeout=5, what="a frozen scheduler")

    # a web request waits for the wake, then gets its answer
    started = time.monotonic()
    reply = httpx.get(f"https://{env['WebserverUrl']}/api/v2/monitor/health", verify=trusting(env_vars), timeout=300)
    assert reply.status_code == 200, reply.text
    assert status(mwaa, "sleepy") in ("RESUMING", "AVAILABLE")  # answered once its web server is up
    assert wakes() == ["web request"]
    print(f"web request to a sleeping environment answered in {time.monotonic() - started:.1f} s")
    assert scheduler().pid == awake.pid and scheduler().status() != psutil.STATUS_STOPPED  # it went on

    # so does an InvokeRestApi call: it unpauses tick, which runs at once and then every minute
    wait_for(asleep, timeout=120, what="the second sleep")
    assert invoke("PATCH", "/dags/tick", is_paused=False)["RestApiResponse"]["is_paused"] is False
    assert wakes() == ["web request", "InvokeRestApi"]
    wait_for(lambda: runs() >= 1, timeout=180, what="tick's first run")

    # it sleeps between runs and wakes before the next one, which runs
    wait_for(asleep, timeout=120, what="a sleep between two runs")
    done = runs()
    wait_for(lambda: len(wakes()) == 3, timeout=120, what="the wake for the next run")
    assert wakes()[2].startswith("scheduled run at ")
    wait_for(lambda: runs() > done, timeout=180, what="the run it woke for")
    # the history is whole: every run before the sleeps is still there, and Airflow lists them
    listed = invoke("GET", "/dags/tick/dagRuns")["RestApiResponse"]
    assert sum(run["state"] == "success" for run in listed["dag_runs"]) >= done + 1

    # with no run due (tick paused again), a sleep turns deep after 30 s: its processes stop
    assert invoke("PATCH", "/dags/tick", is_paused=True)["RestApiResponse"]["is_paused"] is True
    light = scheduler().pid
    wait_for(lambda: hibernation_events("deep"), timeout=180, what="the deep sleep")
    assert hibernation_events("deep")[0]["reason"] == "idle" and asleep()
    assert not psutil.pid_exists(light) or psutil.Process(light).status() == psutil.STATUS_ZOMBIE
    # and a request starts them again, then gets its answer
    reply = httpx.get(f"https://{env['WebserverUrl']}/api/v2/monitor/health", verify=trusting(env_vars), timeout=300)
    assert reply.status_code == 200, reply.text
    wait_for(lambda: status(mwaa, "sleepy") == "AVAILABLE", timeout=180, what="the schedulers after a deep sleep")
    assert scheduler().pid != light
    assert sum(run["state"] == "success"
               for run in invoke("GET", "/dags/tick/dagRuns")["RestApiResponse"]["dag_runs"]) >= done + 1
