"""AirflowVersion changes through real boto3: MWAA's rules, and CREATING_SNAPSHOT when accepted."""

from aerodrome.domain.status import Status
from aerodrome.store import environments as rows
from tests.support import error_of, minimal


def serving(store, name, version):
    """What a reconciler would leave behind: `version` is running and AVAILABLE."""
    with store.session() as session:
        record = rows.get(name, session=session)
        spec = record.spec.replace(airflow_version=version)
        rows.mark_applied(name, generation=record.generation, spec=spec, session=session)
        rows.restore_desired(name, spec, session=session)
        rows.transition(name, Status.AVAILABLE, session=session, expected=record.status)


def test_a_version_change_is_accepted_and_dumps_first(mwaa, store):
    mwaa.create_environment(**minimal(Name="v", AirflowVersion="2.11.2"))
    serving(store, "v", "2.11.2")
    mwaa.update_environment(Name="v", AirflowVersion="3.3.2")
    env = mwaa.get_environment(Name="v")["Environment"]
    assert env["Status"] == "CREATING_SNAPSHOT" and env["AirflowVersion"] == "3.3.2"


def test_an_update_without_a_version_change_is_a_plain_update(mwaa, store):
    mwaa.create_environment(**minimal(Name="p"))
    serving(store, "p", "3.3.2")
    mwaa.update_environment(Name="p", AirflowVersion="3.3.2", MaxWorkers=4)
    assert mwaa.get_environment(Name="p")["Environment"]["Status"] == "UPDATING"


def test_refused_version_changes_say_what_to_do(mwaa, store):
    mwaa.create_environment(**minimal(Name="old"))
    serving(store, "old", "2.10.3")  # an environment on a version that can no longer be created
    code, message = error_of(mwaa.update_environment, Name="old", AirflowVersion="3.3.2")
    assert code == "ValidationException"
    assert "must first be upgraded to 2.11.2" in message
    assert mwaa.get_environment(Name="old")["Environment"]["Status"] == "AVAILABLE"
    code, message = error_of(mwaa.update_environment, Name="old", AirflowVersion="2.8.1")  # past MWAA's support
    assert code == "ValidationException" and "choose one of 3.3.2, 3.3.1" in message
    mwaa.update_environment(Name="old", AirflowVersion="2.11.2")
    assert mwaa.get_environment(Name="old")["Environment"]["Status"] == "CREATING_SNAPSHOT"
