"""Schedules: setting and showing them (API use cases) and firing them (`tick`, run by the schedule loop).

A firing is claimed in the store (compare-and-swap on the due time) and committed before it acts, so
one due time fires at most once, also across control-plane restarts. Hibernate and resume go through
LifecycleService like a user's request; one the status does not allow (say, resume while AVAILABLE)
is skipped with a `hibernate` event saying why. Snapshots call the `snapshot(name, keep)` callable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aerodrome import errors
from aerodrome.domain import schedules as domain_schedules
from aerodrome.domain.schedules import Firing, Schedule
from aerodrome.services.contracts import Lifecycle
from aerodrome.store import environments
from aerodrome.store import schedules as store_schedules
from aerodrome.store.db import Store

log = logging.getLogger(__name__)

Snapshot = Callable[[str, int], object]  # (environment name, how many scheduled snapshots to keep)


class ScheduleService:
    def __init__(self, *, store: Store, lifecycle: Lifecycle, snapshot: Snapshot | None = None,
                 clock: Callable[[], float] = time.time):
        self._store = store
        self._lifecycle = lifecycle
        self._snapshot = snapshot
        self._clock = clock

    # --- use cases -------------------------------------------------------------------------------
    def put(self, name: str, schedules: list[Schedule]) -> dict:
        """Replace the environment's schedules (an empty list clears them); returns `get(name)`."""
        kinds = [s.kind for s in schedules]
        if len(set(kinds)) != len(kinds):
            raise errors.Invalid("Give each schedule kind at most once.")
        with self._store.session() as session:
            environments.get(name, session=session)  # NotFound for an unknown environment
            store_schedules.replace(name, schedules, now=self._clock(), session=session)
        return self.get(name)

    def get(self, name: str) -> dict:
        """{"Name", "Schedules": [{"Kind", "Cron", "Timezone", "Keep"?, "LastFired", "NextFire"}]}."""
        now = self._clock()
        with self._store.session() as session:
            environments.get(name, session=session)
            states = store_schedules.of_environment(name, session=session)
        return {"Name": name, "Schedules": [_shown(state, now) for state in states]}

    # --- the loop's work -------------------------------------------------------------------------
    def tick(self) -> float | None:
        """Fire what is due now; returns the next fire time of any schedule (None when there are none)."""
        now = self._clock()
        with self._store.session() as session:
            states = store_schedules.all_states(session=session)
        for firing in domain_schedules.plan(states, now):
            with self._store.session() as session:
                claimed = store_schedules.claim(firing.state.environment, firing.state.schedule.kind, firing.due_at,
                                       session=session)
            if claimed:
                self._fire(firing)
        return min((domain_schedules.next_fire(s.schedule, now) for s in states), default=None)

    def _fire(self, firing: Firing) -> None:
        name, schedule = firing.state.environment, firing.state.schedule
        if firing.superseded_by:
            return self._skipped(firing, f"the {firing.superseded_by} schedule is due later and fires instead")
        log.info("%s: the %s schedule (%s) fires for %s", name, schedule.kind, schedule.cron,
                 domain_schedules.iso(firing.due_at))
        try:
            if schedule.kind == "hibernate":
                self._lifecycle.hibernate(name)
            elif schedule.kind == "resume":
                self._lifecycle.resume(name)
            elif self._snapshot is None:
                return self._skipped(firing, "snapshots are not available in this control plane")
            else:
                self._snapshot(name, schedule.keep or 1)
        except (errors.Conflict, errors.Invalid) as exc:
            return self._skipped(firing, str(exc))
        except errors.NotFound:
            log.info("%s: gone before its %s schedule fired", name, schedule.kind)
            return None
        except Exception:  # one failing firing must not stop the others
            log.exception("%s: the %s schedule failed", name, schedule.kind)
            return self._skipped(firing, "it failed; the control-plane log has the details")
        self._record(firing, {"phase": "scheduled"})
        return None

    def _skipped(self, firing: Firing, reason: str) -> None:
        log.info("%s: the %s schedule for %s was skipped: %s", firing.state.environment,
                 firing.state.schedule.kind, domain_schedules.iso(firing.due_at), reason)
        self._record(firing, {"phase": "skipped", "reason": reason})

    def _record(self, firing: Firing, fields: dict) -> None:
        name, schedule = firing.state.environment, firing.state.schedule
        kind = "snapshot" if schedule.kind == "snapshot" else "hibernate"
        with self._store.session() as session:
            try:
                arn = environments.get(name, session=session).arn
            except errors.NotFound:
                return
            environments.append_event(name, kind, {**fields, "schedule": schedule.kind, "cron": schedule.cron,
                                           "dueAt": domain_schedules.iso(firing.due_at), "arn": arn}, session=session)


def _shown(state: domain_schedules.ScheduleState, now: float) -> dict:
    schedule = state.schedule
    shown: dict[str, object] = {"Kind": schedule.kind, "Cron": schedule.cron, "Timezone": schedule.timezone,
             "LastFired": domain_schedules.iso(state.last_fired),
             "NextFire": domain_schedules.iso(domain_schedules.next_fire(schedule, now))}
    if schedule.keep is not None:
        shown["Keep"] = schedule.keep
    return shown
