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

    def hibernate(self, name: str, *, force: bool = False, reason: str | None = None,
                  detail: dict | None = None) -> dict:
        """Stop every process of `name`, keeping its database and files. Running tasks finish first
        unless `force`; asking again with `force` while HIBERNATING stops them at once. `reason` (idle
        sleep's `idle`) marks a hibernation that wakes by itself, with a `hibernate` event carrying
        `detail`; a hibernation asked for without one stays until resumed, and makes one that would
        wake (an environment asleep) stay too."""
        with self._store.session() as session:
            record = environments.get(name, session=session)
            position = outbox.latest(session=session)
            asleep = hibernation.reason(name, session=session) == hibernation.IDLE
            if record.status == Status.HIBERNATED and asleep and reason is None:
                hibernation.request(name, force=force, session=session)  # asleep -> hibernated for good
                status = Status.HIBERNATED  # (the reconciler stops its frozen processes)
            else:
                if record.status not in HIBERNATABLE:
                    raise errors.Conflict(
                        f"Environment {name} is {record.status.value}; it can hibernate when it is "
                        f"{' or '.join(sorted(s.value for s in HIBERNATABLE - {Status.HIBERNATING}))}.")
                if record.status != Status.HIBERNATING:
                    hibernation.clear(name, session=session)
                    environments.transition(name, Status.HIBERNATING, session=session, expected=record.status)
                hibernation.request(name, force=force, session=session, reason=reason)
                if reason is not None:
                    environments.append_event(name, "hibernate", {"phase": "sleep", "reason": reason,
                                                                  **(detail or {}), "arn": record.arn},
                                              session=session)
                status = Status.HIBERNATING
        self._wake(name)
        return {"Name": name, "Status": status.value, "EventPosition": position}

    def resume(self, name: str, *, detail: dict | None = None) -> dict:
        """Start a HIBERNATED environment again with the configuration it had; `detail` (idle sleep's
        wake: what woke it) goes into a `hibernate` event."""
        with self._store.session() as session:
            record = environments.get(name, session=session)
            if record.status == Status.RESUMING:
                return {"Name": name, "Status": record.status.value, "EventPosition": outbox.latest(session=session)}
            if record.status != Status.HIBERNATED:
                raise errors.Conflict(f"Environment {name} is {record.status.value}; only a HIBERNATED "
                                      "environment can resume.")
            position = outbox.latest(session=session)
            asleep = hibernation.reason(name, session=session) == hibernation.IDLE
            environments.transition(name, Status.RESUMING, session=session, expected=record.status)
            if asleep:  # woken before any run was due: the reconciler keeps next runs as they are
                hibernation.woken(name, session=session)
            else:
                hibernation.clear(name, session=session)
            if detail is not None:
                environments.append_event(name, "hibernate", {"phase": "wake", **detail, "arn": record.arn},
                                          session=session)
        self._wake(name)
        return {"Name": name, "Status": Status.RESUMING.value, "EventPosition": position}
