"""Schedule requests of the Aerodrome API.

    PUT /aerodrome/v1/environments/NAME/schedules
        {"Schedules": [{"Kind": "hibernate|resume|snapshot", "Cron": "0 19 * * 1-5",
                        "Timezone": "UTC" (optional), "Keep": N (snapshot only)}, ...]}
        replaces the environment's schedules ([] clears them)       -> what GET returns
    GET /aerodrome/v1/environments/NAME/schedules
        -> {"Name", "Schedules": [{"Kind", "Cron", "Timezone", "Keep"?, "LastFired", "NextFire"}]}
"""

from __future__ import annotations

import asyncio

from aerodrome import errors
from aerodrome.domain import schedules as domain_schedules
from aerodrome.services.contracts import Schedules

ACTIONS = {"PUT": "ScheduleEnvironment", "GET": "GetSchedules"}
_MEMBERS = {"Kind", "Cron", "Timezone", "Keep"}


async def handle(schedules: Schedules | None, method: str, name: str, body: dict) -> dict:
    if schedules is None:
        raise errors.NotFound("Schedules are not available in this control plane.")
    if method == "GET":
        return await asyncio.to_thread(schedules.get, name)
    return await asyncio.to_thread(schedules.put, name, parse(body))


def parse(body: dict) -> list[domain_schedules.Schedule]:
    """The request's schedules, each checked (errors.Invalid says which one and why)."""
    entries = body.get("Schedules")
    if not isinstance(entries, list):
        raise errors.Invalid("Schedules must be a list of {Kind, Cron, Timezone?, Keep?} objects ([] clears them).")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Kind"), str) \
                or not isinstance(entry.get("Cron"), str):
            raise errors.Invalid("Each schedule needs Kind and Cron as strings.")
        if unknown := set(entry) - _MEMBERS:
            raise errors.Invalid(f"Unknown schedule member(s): {', '.join(sorted(unknown))}.")
        timezone = entry.get("Timezone")
        if timezone is not None and not isinstance(timezone, str):
            raise errors.Invalid("Timezone must be a string such as UTC or Europe/Berlin.")
        out.append(domain_schedules.parse(entry["Kind"], entry["Cron"], timezone=timezone, keep=entry.get("Keep")))
    return out
