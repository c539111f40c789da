import pytest

from aerodrome import errors
from aerodrome.domain.environment import LastUpdate
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import Status
from aerodrome.store import environments as rows
from tests.support import add, events


def test_transition_writes_status_and_an_event_in_one_transaction(store):
    add(store)
    with store.session() as session:
        record = rows.transition("dev", Status.AVAILABLE, session=session, expected=Status.CREATING)
    assert record.status == Status.AVAILABLE
    arn = "arn:aws:airflow:us-east-1:000000000000:environment/dev"
    assert events(store) == [("dev", {"status": "CREATING", "previousStatus": None, "arn": arn}),
                             ("dev", {"status": "AVAILABLE", "previousStatus": "CREATING", "arn": arn})]


def test_transition_refuses_moves_outside_the_table(store):
    add(store)
    with pytest.raises(errors.Conflict, match="cannot go from CREATING to UPDATING"), store.session() as session:
        rows.transition("dev", Status.UPDATING, session=session)


def test_transition_compares_and_swaps(store):
    add(store)
    with pytest.raises(errors.Conflict, match="is CREATING, not AVAILABLE"), store.session() as session:
        rows.transition("dev", Status.UPDATING, session=session, expected=Status.AVAILABLE)
    with pytest.raises(errors.Conflict, match="changed while moving"), store.session() as session:
        rows.transition("dev", Status.AVAILABLE, session=session, generation=7)


def test_a_failed_transaction_leaves_no_event(store):
    add(store)
    with pytest.raises(RuntimeError), store.session() as session:
        rows.transition("dev", Status.AVAILABLE, session=session)
        raise RuntimeError("boom")
    with store.session() as session:
        assert rows.get("dev", session=session).status == Status.CREATING
    assert len(events(store)) == 1


def test_desired_and_applied_generations(store):
    spec = add(store)
    with store.session() as session:
        rows.mark_applied("dev", generation=1, spec=spec, session=session)
        generation = rows.set_desired("dev", spec.replace(max_workers=3),
                                      last_update=LastUpdate(status="PENDING", created_at=2.0), session=session)
    with store.session() as session:
        record = rows.get("dev", session=session)
    assert (generation, record.generation, record.applied_generation) == (2, 2, 1)
    assert record.spec.max_workers == 3 and record.applied_spec.max_workers == 10


def test_spec_repr_hides_configuration_values():
    spec = EnvironmentSpec(name="x", execution_role_arn="r", source_bucket_arn="b", dag_s3_path="d",
                           airflow_configuration_options={"secrets.backend_kwargs": "s3cr3t"})
    assert "s3cr3t" not in repr(spec)
