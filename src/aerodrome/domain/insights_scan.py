"""What a store may do for a Logs Insights query before its rows reach Python (pure): keep only the
events whose message holds some texts, hand the events over newest (or oldest) first so the query
stops at its limit, or count them per time bin itself. Each is offered only where the result stays
the same as `Query.run` over every event of the window; the store turns it into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from aerodrome.domain.insights import Query


@dataclass(frozen=True)
class Scan:
    """What a store may do for a query before its rows reach Python."""

    containing: tuple[str, ...] = ()  # every event the query can use holds each of these in its @message
    order: str = ""  # "desc"/"asc": hand events over in this @timestamp order (ties: group, then id) to
    #                  run(ordered=True), which stops at the limit
    count_bin: int | None = None  # count the (containing) events per bin of this many ms (0: one count)
    #                               and give the counts to run_counted


def scan_of(query: Query) -> Scan:
    """What a store may do for `query` with the same result (see `Scan`)."""
    terms: list[str] = []
    exact = True  # so far, keeping the messages holding `terms` is all the steps do
    for step in query.steps:
        if step.kind == "stats":
            if exact and step.count_bin is not None:
                return Scan(tuple(terms), count_bin=step.count_bin)
            break
        if step.kind == "dedup" or "@message" in step.writes:  # later filters see other rows or messages
            break
        terms += [t for t in step.terms if t not in terms]
        exact = exact and step.kind == "filter" and step.exact
    return Scan(tuple(terms), order=_order(query))


def _order(query: Query) -> str:
    """"desc" or "asc" when the rows shown are the first `limit` of the events in that time order
    that pass the per-row steps: no stats or dedup, at most one sort and by @timestamp alone."""
    kinds = [step.kind for step in query.steps]
    sorts = [step.sort_keys for step in query.steps if step.kind == "sort"]
    if "stats" in kinds or "dedup" in kinds or len(sorts) > 1 or \
            any("@timestamp" in step.writes for step in query.steps):
        return ""
    if not sorts:
        return "desc"
    if len(sorts[0]) != 1 or sorts[0][0][0] != "@timestamp":
        return ""
    return "desc" if sorts[0][0][1] else "asc"

