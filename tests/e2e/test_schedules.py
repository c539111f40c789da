"""Schedules end to end: `aerodrome env schedule` hibernates a real environment at the next minute
and resumes it two minutes later; the history stays, scheduled runs go on, and each DAG's catchup
setting decides the minute it missed (Airflow's scheduler does that on its own once it runs again)."""

import datetime
import time

import httpx
import pytest

from tests.support import UNPAUSED, Airflow, aerodrome, create, events_of, wait_for

pytestmark = pytest.mark.e2e

MINUTE = datetime.timedelta(minutes=1)
DAGS = '''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
start = datetime.datetime({start}, tzinfo=datetime.timezone.utc)
with DAG("no_catchup", start_date=start, schedule="* * * * *", catchup=False):
    BashOperator(task_id="t", bash_command="echo ok")
with DAG("catchup", start_date=start, schedule="* * * * *", catchup=True):
    BashOperator(task_id="t", bash_command="echo ok")
'''


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def runs(airflow, dag_id) -> dict[datetime.datetime, dict]:
    """Scheduled runs by logical date."""
    try:
        reply = airflow.get(f"/dags/{dag_id}/dagRuns?order_by=logical_date&limit=100")
    except httpx.TransportError:  # a busy host: ask again on the next poll
        return {}
    if reply.status_code != 200:
        return {}
    return {datetime.datetime.fromisoformat(r["logical_date"].replace("Z", "+00:00")): r
            for r in reply.json()["dag_runs"] if r["run_type"] == "scheduled" and r["logical_date"]}


def cron_at(moment: datetime.datetime) -> str:
    return f"{moment.minute} {moment.hour} {moment.day} {moment.month} *"


def test_scheduled_hibernate_and_resume_keep_history_and_follow_catchup(plane, clients):
    mwaa, s3 = clients
    start = (utc_now() - 3 * MINUTE).replace(second=0, microsecond=0)
    dags = DAGS.format(start=", ".join(str(v) for v in start.timetuple()[:5])).encode()
    env = create(mwaa, s3, "sched", "sched-bucket", dags,
                 AirflowConfigurationOptions=UNPAUSED)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = Airflow(plane, "sched")
    done = lambda dag_id: [d for d, r in runs(airflow, dag_id).items() if r["state"] == "success"]  # noqa: E731
    before = wait_for(lambda: done("no_catchup"), timeout=150, interval=2, what="a scheduled run")

    # hibernate at the next minute with 20 s to spare, resume two minutes after: one minute is missed
    hibernate_at = (utc_now() + datetime.timedelta(seconds=80)).replace(second=0, microsecond=0)
    resume_at = hibernate_at + 2 * MINUTE
    missed = hibernate_at + MINUTE
    set_ = aerodrome(plane.settings.home, "env", "schedule", "sched", "--hibernate", cron_at(hibernate_at),
                     "--resume", cron_at(resume_at))
    assert set_.returncode == 0, set_.stdout + set_.stderr
    assert hibernate_at.strftime("%Y-%m-%dT%H:%M:00Z") in set_.stdout

    status = lambda: mwaa.get_environment(Name="sched")["Environment"]["Status"]  # noqa: E731
    wait_for(lambda: status() == "HIBERNATED", timeout=240, interval=0.5, what="the scheduled hibernation")
    print(f"\nschedule fire -> HIBERNATED: {time.time() - hibernate_at.timestamp():.1f} s")
    wait_for(lambda: status() == "AVAILABLE", timeout=420, interval=1, what="the scheduled resume")
    print(f"schedule fire -> AVAILABLE: {time.time() - resume_at.timestamp():.1f} s")

    airflow = Airflow(plane, "sched")
    new = wait_for(lambda: [d for d in done("no_catchup") if d >= resume_at], timeout=300, interval=2,
                   what="a scheduled run after resume")
    assert new and set(before) <= set(runs(airflow, "no_catchup"))  # history kept
    # the missed minute: run by the catchup DAG, not by the other
    wait_for(lambda: missed in done("catchup"), timeout=180, interval=2, what="the catchup DAG's missed run")
    assert missed not in runs(airflow, "no_catchup"), sorted(runs(airflow, "no_catchup"))
    caught_up = sorted(runs(airflow, "catchup"))
    assert caught_up == [caught_up[0] + i * MINUTE for i in range(len(caught_up))]  # no interval left out

    fired = [(e["detail"]["schedule"], e["detail"]["phase"]) for e in events_of(plane, "sched")
             if "schedule" in e["detail"]]
    assert fired == [("hibernate", "scheduled"), ("resume", "scheduled")]
    shown = aerodrome(plane.settings.home, "env", "schedule", "sched")
    assert resume_at.strftime("%Y-%m-%dT%H:%M:00Z") in shown.stdout
