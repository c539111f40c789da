"""Hibernate/resume requests through the Aerodrome API (no reconciler runs here, so statuses stay
where the requests leave them): status rules, errors, and what boto3 and the AWS CLI show."""

import json

import pytest

from aerodrome.cli.ext_client import ExtClient, ExtError
from aerodrome.domain.status import Status
from aerodrome.store import environments as rows
from tests.support import aws_cli as aws
from tests.support import minimal


def force_status(store, name, *path):
    for status in path:
        with store.session() as session:
            rows.transition(name, status, session=session)


def test_hibernate_and_resume_follow_the_status_rules(plane, mwaa, tmp_path):
    client = ExtClient(plane["settings"])
    mwaa.create_environment(**minimal(Name="dev"))
    with pytest.raises(ExtError, match="CREATING; it can hibernate when it is AVAILABLE or UPDATE_FAILED") as raised:
        client.request("POST", "/environments/dev/hibernate")
    assert raised.value.code == "ValidationException"
    force_status(plane["store"], "dev", Status.AVAILABLE)

    reply = client.request("POST", "/environments/dev/hibernate", body={"Force": False})
    assert reply["Status"] == "HIBERNATING"
    # boto3 and the AWS CLI pass the status through as it is
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "HIBERNATING"
    cli = {"url": plane["url"], "key": plane["key"], "secret": plane["secret"]}
    shown = aws(cli, tmp_path, "mwaa", "get-environment", "--name", "dev")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["Environment"]["Status"] == "HIBERNATING"
    # asking again (to escalate to Force) is accepted; updates and resume are refused meanwhile
    assert client.request("POST", "/environments/dev/hibernate", body={"Force": True})["Status"] == "HIBERNATING"
    with pytest.raises(mwaa.exceptions.ValidationException, match="HIBERNATING"):
        mwaa.update_environment(Name="dev", MaxWorkers=3)
    with pytest.raises(ExtError, match="only a HIBERNATED environment can resume"):
        client.request("POST", "/environments/dev/resume")

    force_status(plane["store"], "dev", Status.HIBERNATED)
    assert client.request("POST", "/environments/dev/resume")["Status"] == "RESUMING"
    assert client.request("POST", "/environments/dev/resume")["Status"] == "RESUMING"  # idempotent
    changes = [(e["detail"]["previousStatus"], e["detail"]["status"])
               for e in client.request("GET", "/events", query={"environment": "dev"})["events"]]
    assert changes[-3:] == [("AVAILABLE", "HIBERNATING"), ("HIBERNATING", "HIBERNATED"), ("HIBERNATED", "RESUMING")]


def test_bad_hibernate_requests(plane, mwaa):
    client = ExtClient(plane["settings"])
    with pytest.raises(ExtError, match="Environment nope not found") as raised:
        client.request("POST", "/environments/nope/hibernate")
    assert raised.value.code == "ResourceNotFoundException"
    mwaa.create_environment(**minimal(Name="dev"))
    force_status(plane["store"], "dev", Status.AVAILABLE)
    with pytest.raises(ExtError, match="Force must be true or false"):
        client.request("POST", "/environments/dev/hibernate", body={"Force": "yes"})
    with pytest.raises(ExtError, match="No Aerodrome operation"):
        client.request("GET", "/environments/dev/hibernate")
    assert mwaa.get_environment(Name="dev")["Environment"]["Status"] == "AVAILABLE"  # bad input harmed nothing


def test_policies_decide_who_may_hibernate_resume_and_read_events(plane, mwaa):
    mwaa.create_environment(**minimal(Name="dev"))
    mwaa.create_environment(**minimal(Name="prod"))
    for name in ("dev", "prod"):
        force_status(plane["store"], name, Status.AVAILABLE)
    principals = plane["principals"]
    key = principals.create("operator")
    principals.attach("operator", "p", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["airflow:HibernateEnvironment", "airflow:ListEvents"],
         "Resource": "arn:aws:airflow:*:*:environment/dev"}]}))
    operator = ExtClient(plane["settings"], access_key=key)

    assert operator.request("POST", "/environments/dev/hibernate")["Status"] == "HIBERNATING"
    with pytest.raises(ExtError, match="operator is not authorized to perform: airflow:HibernateEnvironment") as denied:
        operator.request("POST", "/environments/prod/hibernate")
    assert denied.value.code == "AccessDeniedException"
    with pytest.raises(ExtError, match="airflow:ResumeEnvironment"):
        operator.request("POST", "/environments/dev/resume")
    assert operator.request("GET", "/events", query={"environment": "dev"})["events"]
    with pytest.raises(ExtError, match="airflow:ListEvents"):  # every environment's events need more
        operator.request("GET", "/events")
    assert mwaa.get_environment(Name="prod")["Environment"]["Status"] == "AVAILABLE"
