"""How many Celery workers an environment wants, from its task load. Pure; no I/O.

Scale out at once to the workers the queued + running tasks need (each worker runs `concurrency`
tasks). Scale in only after the load has stayed lower for `scale_in_after` seconds and no change
happened for as long (hysteresis: a short lull between bursts does not remove a worker), one worker
at a time; a removed worker is drained by the caller, never killed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    queued: int
    running: int

    @property
    def active(self) -> int:
        return self.queued + self.running


@dataclass(frozen=True)
class Bounds:
    min_workers: int
    max_workers: int
    concurrency: int


@dataclass(frozen=True)
class Memory:
    """What the caller keeps between decisions (monotonic seconds)."""

    last_change: float = -math.inf
    low_since: float | None = None  # since when the load has wanted fewer workers than run


@dataclass(frozen=True)
class Decision:
    workers: int  # the count to run now (may equal the current one)
    memory: Memory
    reason: str = ""


def needed(load: Load, bounds: Bounds) -> int:
    """Workers the load asks for, within the bounds."""
    wanted = math.ceil(load.active / max(1, bounds.concurrency))
    return max(bounds.min_workers, min(bounds.max_workers, wanted))


def decide(*, workers: int, load: Load, bounds: Bounds, memory: Memory, now: float,
           scale_in_after: float = 60.0) -> Decision:
    target = needed(load, bounds)
    reason = f"{load.queued} queued, {load.running} running, {bounds.concurrency} per worker"
    if workers < bounds.min_workers or workers > bounds.max_workers:
        return Decision(target, Memory(last_change=now), f"bounds {bounds.min_workers}-{bounds.max_workers}")
    if target > workers:
        return Decision(target, Memory(last_change=now), reason)
    if target == workers:
        return Decision(workers, Memory(last_change=memory.last_change))
    low_since = memory.low_since if memory.low_since is not None else now
    settled = now - low_since >= scale_in_after and now - memory.last_change >= scale_in_after
    if not settled:
        return Decision(workers, Memory(last_change=memory.last_change, low_since=low_since))
    return Decision(workers - 1, Memory(last_change=now), reason)
