"""Lifecycle operations MWAA lacks: hibernate and resume. Each call is one transaction plus a wake-up."""

from __future__ import annotations

from collections.abc import Callable

from aerodrome import errors
from aerodrome.domain.status import HIBERNATABLE, Status
from aerodrome.store import environments, hibernation, outbox
from aerodrome.store.db import Store


class LifecycleService:
    def __init__(self, *, store: Store, wake: Callable[[str], None]):
        self._store = store
        self._wake = wake

    def hibernate(self, name: str, *, force: bool = False) -> dict:
        """Stop every process of `name`, keeping its database and files. Running tasks finish first
        unless `force`; asking again with `force` while HIBERNATING stops them at once."""
        with self._store.session() as session:
            record = environments.get(name, session=session)
            if record.status not in HIBERNATABLE:
                raise errors.Conflict(
                    f"Environment {name} is {record.status.value}; it can hibernate when it is "
                    f"{' or '.join(sorted(s.value for s in HIBERNATABLE - {Status.HIBERNATING}))}.")
            position = outbox.latest(session=session)
            if record.status != Status.HIBERNATING:
                hibernation.clear(name, session=session)
                environments.transition(name, Status.HIBERNATING, session=session, expected=record.status)
            hibernation.request(name, force=force, session=session)
        self._wake(name)
        return {"Name": name, "Status": Status.HIBERNATING.value, "EventPosition": position}

    def resume(self, name: str) -> dict:
        """Start a HIBERNATED environment again with the configuration it had."""
        with self._store.session() as session:
            record = environments.get(name, session=session)
            if record.status == Status.RESUMING:
                return {"Name": name, "Status": record.status.value, "EventPosition": outbox.latest(session=session)}
            if record.status != Status.HIBERNATED:
                raise errors.Conflict(f"Environment {name} is {record.status.value}; only a HIBERNATED "
                                      "environment can resume.")
            position = outbox.latest(session=session)
            environments.transition(name, Status.RESUMING, session=session, expected=record.status)
            hibernation.clear(name, session=session)
        self._wake(name)
        return {"Name": name, "Status": Status.RESUMING.value, "EventPosition": position}
