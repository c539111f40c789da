"""The environment status machine: the one table that says which status may follow which."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    CREATING = "CREATING"
    CREATE_FAILED = "CREATE_FAILED"
    AVAILABLE = "AVAILABLE"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    DELETED = "DELETED"
    UNAVAILABLE = "UNAVAILABLE"
    UPDATE_FAILED = "UPDATE_FAILED"
    ROLLING_BACK = "ROLLING_BACK"
    CREATING_SNAPSHOT = "CREATING_SNAPSHOT"
    PENDING = "PENDING"
    MAINTENANCE = "MAINTENANCE"
    # Aerodrome's own (not in MWAA's enum; boto3 and the AWS CLI pass unknown status strings through)
    HIBERNATING = "HIBERNATING"
    HIBERNATED = "HIBERNATED"
    RESUMING = "RESUMING"
    DELETE_FAILED = "DELETE_FAILED"  # a delete that kept failing; DeleteEnvironment may try again


S = Status

# from -> statuses it may move to
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.PENDING: frozenset({S.CREATING, S.CREATE_FAILED, S.DELETING}),
    S.CREATING: frozenset({S.AVAILABLE, S.CREATE_FAILED, S.DELETING}),
    S.CREATE_FAILED: frozenset({S.DELETING}),
    S.AVAILABLE: frozenset({S.UPDATING, S.DELETING, S.MAINTENANCE, S.UNAVAILABLE, S.CREATING_SNAPSHOT,
                            S.HIBERNATING}),
    S.UPDATING: frozenset({S.AVAILABLE, S.ROLLING_BACK, S.UPDATE_FAILED, S.DELETING}),
    S.CREATING_SNAPSHOT: frozenset({S.UPDATING, S.ROLLING_BACK, S.UPDATE_FAILED}),
    S.ROLLING_BACK: frozenset({S.UPDATE_FAILED, S.UNAVAILABLE}),
    S.UPDATE_FAILED: frozenset({S.UPDATING, S.CREATING_SNAPSHOT, S.DELETING, S.UNAVAILABLE, S.HIBERNATING}),
    S.UNAVAILABLE: frozenset({S.UPDATING, S.CREATING_SNAPSHOT, S.AVAILABLE, S.DELETING}),
    S.MAINTENANCE: frozenset({S.AVAILABLE, S.UNAVAILABLE}),
    S.HIBERNATING: frozenset({S.HIBERNATED, S.UNAVAILABLE, S.DELETING}),
    S.HIBERNATED: frozenset({S.RESUMING, S.DELETING}),
    S.RESUMING: frozenset({S.AVAILABLE, S.UNAVAILABLE, S.DELETING}),
    S.DELETING: frozenset({S.DELETED, S.DELETE_FAILED}),
    S.DELETE_FAILED: frozenset({S.DELETING}),
    S.DELETED: frozenset(),
}

# statuses in which UpdateEnvironment is accepted
UPDATABLE = frozenset({S.AVAILABLE, S.UPDATE_FAILED, S.UNAVAILABLE})
# statuses in which DeleteEnvironment is accepted
DELETABLE = frozenset(s for s, nxt in TRANSITIONS.items() if S.DELETING in nxt) | {S.DELETING}
# statuses in which hibernation may start (processes stop, database and files stay)
HIBERNATABLE = frozenset(s for s, nxt in TRANSITIONS.items() if S.HIBERNATING in nxt) | {S.HIBERNATING}
# statuses in which the runtime should be running
RUNNING = frozenset({S.AVAILABLE, S.UPDATING, S.UPDATE_FAILED, S.ROLLING_BACK, S.MAINTENANCE, S.CREATING_SNAPSHOT,
                     S.HIBERNATING, S.RESUMING})

# the status an operation ends in when acting on it keeps failing unexpectedly (the controller gives up)
GIVE_UP: dict[Status, Status] = {
    S.PENDING: S.CREATE_FAILED,
    S.CREATING: S.CREATE_FAILED,
    S.UPDATING: S.UPDATE_FAILED,
    S.CREATING_SNAPSHOT: S.UPDATE_FAILED,
    S.DELETING: S.DELETE_FAILED,
    S.ROLLING_BACK: S.UNAVAILABLE,
    S.MAINTENANCE: S.UNAVAILABLE,
    S.HIBERNATING: S.UNAVAILABLE,
    S.RESUMING: S.UNAVAILABLE,
}


def can_transition(current: Status, to: Status) -> bool:
    return to in TRANSITIONS[current]
