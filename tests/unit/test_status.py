from aerodrome.domain.status import DELETABLE, TRANSITIONS, UPDATABLE, Status, can_transition


def test_every_status_has_a_row():
    assert set(TRANSITIONS) == set(Status)


def test_mwaa_paths_are_allowed():
    path = [Status.CREATING, Status.AVAILABLE, Status.UPDATING, Status.ROLLING_BACK, Status.UPDATE_FAILED,
            Status.UPDATING, Status.AVAILABLE, Status.DELETING, Status.DELETED]
    for current, following in zip(path, path[1:], strict=False):
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


def test_hibernation_path_and_rules():
    from aerodrome.domain.status import HIBERNATABLE

    path = [Status.AVAILABLE, Status.HIBERNATING, Status.HIBERNATED, Status.RESUMING, Status.AVAILABLE]
    for current, following in zip(path, path[1:], strict=False):
        assert can_transition(current, following), (current, following)
    assert Status.HIBERNATED not in UPDATABLE  # resume first
    assert Status.HIBERNATED in DELETABLE and Status.HIBERNATING in DELETABLE
    assert Status.CREATING not in HIBERNATABLE and Status.AVAILABLE in HIBERNATABLE
    assert not can_transition(Status.HIBERNATED, Status.AVAILABLE)  # only through RESUMING
