"""A version change down: an environment created on Airflow 3 moves to 2.11 (a file of its own, so it
runs beside test_version_change's longer upgrade-and-rollback test)."""

import pytest

from tests.e2e.test_version_change import BOTH, assert_kept, change_version, run_v2, run_v3
from tests.support import UNPAUSED, Airflow, Airflow2, create, wait_for_dag

pytestmark = pytest.mark.e2e


def test_an_environment_created_on_3_moves_down_to_2_11(plane, clients):
    """No FAB tables exist yet: the downgrade needs the FAB provider to create them for Airflow 2.
    The run, a variable, a connection and a pool made on 3.3.2 are there on 2.11.2."""
    mwaa, s3 = clients
    env = create(mwaa, s3, "down", "down-bucket", BOTH, AirflowConfigurationOptions=UNPAUSED)
    assert env["Status"] == "AVAILABLE", env["LastUpdate"]
    airflow = Airflow(plane, "down")
    wait_for_dag(airflow, "both")
    first_run = run_v3(airflow, "both")
    for path, body in (("/variables", {"key": "greeting", "value": "hello"}),
                       ("/connections", {"connection_id": "svc", "conn_type": "http", "host": "example.com"}),
                       ("/pools", {"name": "narrow", "slots": 2})):
        reply = airflow.post(path, body)
        assert reply.status_code == 201, reply.text

    seen, env = change_version(mwaa, "down", "2.11.2")
    assert env["Status"] == "AVAILABLE", (seen, env["LastUpdate"])
    assert seen[:3] == ["CREATING_SNAPSHOT", "UPDATING", "AVAILABLE"], seen
    airflow = Airflow2(plane, "down")
    assert_kept(airflow, [first_run])  # the run, variable, connection and pool made on 3.3.2
    run_v2(airflow, "both")
