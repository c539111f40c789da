from aerodrome.domain.status import DELETABLE, TRANSITIONS, UPDATABLE, Status, can_transition


def test_every_status_has_a_row():
    assert set(TRANSITIONS) == set(Status)


def test_mwaa_paths_are_allowed():
    path = [Status.CREATING, Status.AVAILABLE, Status.UPDATING, Status.ROLLING_BACK, Status.UPDATE_FAILED,
            Status.UPDATING, Status.AVAILABLE, Status.DELETING, Status.DELETED]
    for current, following in zip(path, path[1:]):
        assert can_transition(current, following), (current, following)


def test_forbidden_moves():
    assert not can_transition(Status.DELETED, Status.AVAILABLE)
    assert not can_transition(Status.CREATING, Status.UPDATING)
    assert not can_transition(Status.DELETING, Status.AVAILABLE)


def test_update_and_delete_rules():
    assert Status.UPDATING not in UPDATABLE
    assert Status.AVAILABLE in UPDATABLE
    assert Status.CREATE_FAILED in DELETABLE and Status.UPDATING in DELETABLE
    assert Status.ROLLING_BACK not in DELETABLE
