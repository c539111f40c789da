"""Schedules through the Aerodrome API (SigV4-signed) and `aerodrome env schedule`: bad cron is a
ValidationException that stores nothing, the CLI merges and shows, policies decide who may."""

import json

import pytest

from aerodrome.cli import main
from aerodrome.cli.ext_client import ExtClient, ExtError
from tests.support import minimal


@pytest.fixture
def cli(plane, monkeypatch, capsys):
    monkeypatch.setenv("AERODROME_HOME", str(plane["settings"].home))

    def run(*args):
        code = main(["env", "schedule", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_bad_cron_is_a_validation_exception_and_stores_nothing(plane, mwaa):
    client = ExtClient(plane["settings"])
    mwaa.create_environment(**minimal(Name="dev"))
    bad = {"Schedules": [{"Kind": "resume", "Cron": "0 7 * * *"}, {"Kind": "hibernate", "Cron": "0 25 * * *"}]}
    with pytest.raises(ExtError) as raised:
        client.request("PUT", "/environments/dev/schedules", body=bad)
    assert raised.value.code == "ValidationException"
    assert str(raised.value) == "The hibernate schedule '0 25 * * *' is not a valid cron expression: Bad hour."
    assert client.request("GET", "/environments/dev/schedules") == {"Name": "dev", "Schedules": []}
    for body, message in [({"Schedules": "0 7 * * *"}, "Schedules must be a list"),
                          ({"Schedules": [{"Kind": "resume"}]}, "Each schedule needs Kind and Cron"),
                          ({"Schedules": [{"Kind": "resume", "Cron": "0 7 * * *", "When": 1}]}, "Unknown schedule"),
                          ({"Schedules": [{"Kind": "snapshot", "Cron": "0 7 * * *"}]}, "needs Keep")]:
        with pytest.raises(ExtError, match=message):
            client.request("PUT", "/environments/dev/schedules", body=body)
    with pytest.raises(ExtError, match="Environment nope not found") as missing:
        client.request("GET", "/environments/nope/schedules")
    assert missing.value.code == "ResourceNotFoundException"


def test_cli_sets_merges_shows_and_clears(plane, mwaa, cli):
    mwaa.create_environment(**minimal(Name="dev"))
    code, out, _ = cli("dev", "--hibernate", "0 19 * * 1-5", "--resume", "0 7 * * 1-5")
    assert code == 0 and "hibernate  0 19 * * 1-5" in out and "resume     0 7 * * 1-5" in out
    code, out, _ = cli("dev", "--snapshot", "0 3 * * *", "--keep", "7", "--timezone", "Europe/Berlin")
    assert code == 0 and "snapshot (keep 7) 0 3 * * *" in out and "Europe/Berlin" in out
    shown = ExtClient(plane["settings"]).request("GET", "/environments/dev/schedules")["Schedules"]
    assert [(s["Kind"], s["Timezone"]) for s in shown] == [("hibernate", "UTC"), ("resume", "UTC"),
                                                           ("snapshot", "Europe/Berlin")]
    assert all(s["NextFire"].endswith("Z") and s["LastFired"] is None for s in shown)
    code, out, _ = cli("dev")
    assert code == 0 and out.count("\n") == 4 and "NEXT FIRE" in out
    code, _, err = cli("dev", "--resume", "0 7 * *")
    assert code == 1 and "has 4 field(s); a cron expression has 5" in err
    code, out, _ = cli("dev", "--clear", "--resume", "30 6 * * *")
    assert code == 0 and "hibernate" not in out and "30 6 * * *" in out
    code, out, _ = cli("dev", "--clear")
    assert code == 0 and out.strip() == "dev: no schedules"


def test_policies_decide_who_may_set_and_read_schedules(plane, mwaa):
    mwaa.create_environment(**minimal(Name="dev"))
    principals = plane["principals"]
    key = principals.create("reader")
    principals.attach("reader", "p", json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "airflow:GetSchedules", "Resource": "arn:aws:airflow:*:*:environment/dev"}]}))
    reader = ExtClient(plane["settings"], access_key=key)
    assert reader.request("GET", "/environments/dev/schedules")["Schedules"] == []
    with pytest.raises(ExtError, match="reader is not authorized to perform: airflow:ScheduleEnvironment") as denied:
        reader.request("PUT", "/environments/dev/schedules",
                       body={"Schedules": [{"Kind": "hibernate", "Cron": "0 19 * * *"}]})
    assert denied.value.code == "AccessDeniedException"
    assert ExtClient(plane["settings"]).request("GET", "/environments/dev/schedules")["Schedules"] == []
