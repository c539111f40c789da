"""CloudWatch Logs over the log store: log groups and streams (each environment's groups filled by
the log shipper; others created by clients), GetLogEvents, FilterLogEvents (filter patterns:
domain.log_filter), Logs Insights (StartQuery, GetQueryResults, StopQuery; the language:
domain.insights; queries run on a small pool and their results are kept for the last 200),
CreateLogGroup/CreateLogStream/PutLogEvents, PutRetentionPolicy,
DeleteRetentionPolicy and DeleteLogGroup, with CloudWatch Logs' rules, limits and error codes
(CloudWatchError, HTTP 400 as the service answers).
"""

from __future__ import annotations

import base64
import collections
import fnmatch
import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aerodrome.domain import insights, insights_scan, log_filter
from aerodrome.services.cloudwatch import CloudWatchError, Item, page
from aerodrome.telemetry.log_store import Event, LogStore, Stopped

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26  # bytes CloudWatch Logs counts per event on top of its message
PAST_MS, FUTURE_MS = 14 * 86_400_000, 2 * 3_600_000
SCAN = 5_000  # events read at a time while filtering


def _invalid(message: str) -> CloudWatchError:
    return CloudWatchError("InvalidParameterException", message)


def _token(prefix: str, event: Event) -> str:
    return f"{prefix}/{event.timestamp:019d}/{event.id:019d}"


def _mark(token: str | None, prefix: str) -> tuple[int, int] | None:
    if not token:
        return None
    try:
        kind, stamp, event_id = token.split("/")
        if kind != prefix:
            raise ValueError(kind)
        return int(stamp), int(event_id)
    except ValueError:
        raise _invalid("The specified nextToken is invalid.") from None


KEPT_QUERIES = 200
MAX_QUERY_GROUPS = 50


class LogsService:
    def __init__(self, store: LogStore, *, region: str, account: str):
        self._store = store
        self._region = region
        self._account = account
        self._queries: dict[str, dict[str, Any]] = {}
        self._queries_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="insights")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def group_arn(self, name: str) -> str:
        return f"arn:aws:logs:{self._region}:{self._account}:log-group:{name}"

    # --- groups ------------------------------------------------------------------------------
    def create_log_group(self, payload: dict[str, Any]) -> dict:
        name = _group_name(payload)
        if not self._store.create_group(name):
            raise CloudWatchError("ResourceAlreadyExistsException", "The specified log group already exists")
        return {}

    def delete_log_group(self, payload: dict[str, Any]) -> dict:
        if not self._store.delete_group(_group_name(payload)):
            raise _missing_group()
        return {}

    def put_retention_policy(self, payload: dict[str, Any]) -> dict:
        days = payload.get("retentionInDays")
        if days not in RETENTION_DAYS:
            raise _invalid(f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
                           f"constraint: Member must satisfy enum value set: {list(RETENTION_DAYS)}")
        if not self._store.set_retention(_group_name(payload), days):
            raise _missing_group()
        return {}

    def delete_retention_policy(self, payload: dict[str, Any]) -> dict:
        if not self._store.set_retention(_group_name(payload), None):
            raise _missing_group()
        return {}

    def describe_log_groups(self, payload: dict[str, Any]) -> dict:
        prefix, pattern = payload.get("logGroupNamePrefix") or "", payload.get("logGroupNamePattern")
        if prefix and pattern:
            raise _invalid("logGroupNamePrefix and logGroupNamePattern are mutually exclusive.")
        found = [g for g in self._store.groups(prefix)
                 if not pattern or fnmatch.fnmatchcase(g.name.lower(), f"*{pattern.lower()}*")]
        shown, more = _page(found, payload)
        return {"logGroups": [
            {"logGroupName": g.name, "creationTime": g.created, "storedBytes": g.stored_bytes,
             "arn": self.group_arn(g.name) + ":*", "logGroupArn": self.group_arn(g.name), "logGroupClass": "STANDARD",
             **({"retentionInDays": g.retention_days} if g.retention_days else {})}
            for g in shown], **more}

    # --- streams -----------------------------------------------------------------------------
    def create_log_stream(self, payload: dict[str, Any]) -> dict:
        group = self._existing(payload)
        name = payload.get("logStreamName") or ""
        if not name or ":" in name or "*" in name or len(name) > 512:
            raise _invalid("A log stream name is 1-512 characters without ':' or '*'.")
        if not self._store.create_stream(group, name):
            raise CloudWatchError("ResourceAlreadyExistsException", "The specified log stream already exists")
        return {}

    def describe_log_streams(self, payload: dict[str, Any]) -> dict:
        group = self._existing(payload)
        by_time = payload.get("orderBy") == "LastEventTime"
        if by_time and payload.get("logStreamNamePrefix"):
            raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        found = self._store.streams(group, prefix=payload.get("logStreamNamePrefix") or "", by_last_event=by_time,
                                    descending=bool(payload.get("descending")))
        shown, more = _page(found, payload)
        arn = self.group_arn(group)
        return {"logStreams": [
            {"logStreamName": s.name, "creationTime": s.created, "arn": f"{arn}:log-stream:{s.name}",
             "storedBytes": s.stored_bytes,
             **{k: v for k, v in (("firstEventTimestamp", s.first_ts), ("lastEventTimestamp", s.last_ts),
                                  ("lastIngestionTime", s.last_ingested)) if v is not None}}
            for s in shown], **more}

    # --- events ------------------------------------------------------------------------------
    def put_log_events(self, payload: dict[str, Any]) -> dict:
        group = self._existing(payload)
        stream = payload.get("logStreamName") or ""
        if stream not in {s.name for s in self._store.streams(group, prefix=stream)}:
            raise CloudWatchError("ResourceNotFoundException", "The specified log stream does not exist.")
        events = payload.get("logEvents") or []
        if not events:
            raise _invalid("logEvents must hold at least one event.")
        if len(events) > MAX_BATCH_EVENTS:
            raise _invalid(f"A batch holds at most {MAX_BATCH_EVENTS} events.")
        size = sum(len(e["message"].encode()) + EVENT_OVERHEAD for e in events)
        if size > MAX_BATCH_BYTES:
            raise _invalid(f"The batch is {size} bytes; at most {MAX_BATCH_BYTES} (messages plus 26 bytes per "
                           "event) are taken at once.")
        now = int(time.time() * 1000)
        rejected: dict[str, int] = {}
        kept = []
        for index, event in enumerate(events):
            stamp = event["timestamp"]
            if stamp < now - PAST_MS:
                rejected["tooOldLogEventEndIndex"] = index
            elif stamp > now + FUTURE_MS:
                rejected.setdefault("tooNewLogEventStartIndex", index)
            else:
                kept.append((stamp, event["message"]))
        self._store.append(group, stream, sorted(kept, key=lambda item: item[0]))
        return {"nextSequenceToken": base64.urlsafe_b64encode(str(now).encode()).decode(),
                **({"rejectedLogEventsInfo": rejected} if rejected else {})}

    def get_log_events(self, payload: dict[str, Any]) -> dict:
        group = self._existing(payload)
        stream = payload.get("logStreamName") or ""
        limit = min(payload.get("limit") or 10_000, 10_000)
        token = payload.get("nextToken")
        window: dict[str, Any] = {"streams": [stream], "start": payload.get("startTime"),
                                  "end": _end(payload.get("endTime"))}
        if token and token.startswith("b/"):
            found = self._store.events(group, before=_mark(token, "b"), limit=limit, descending=True, **window)
            found.reverse()
        elif token:
            found = self._store.events(group, after=_mark(token, "f"), limit=limit, **window)
        elif payload.get("startFromHead"):
            found = self._store.events(group, limit=limit, **window)
        else:
            found = list(reversed(self._store.events(group, limit=limit, descending=True, **window)))
        if not found:  # at either end the same token comes back, which is how clients know to stop
            same = token or "f/" + "0" * 19 + "/" + "0" * 19
            return {"events": [], "nextForwardToken": same if not same.startswith("b/") else "f" + same[1:],
                    "nextBackwardToken": same if same.startswith("b/") else "b" + same[1:]}
        return {"events": [{"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingested}
                           for e in found],
                "nextForwardToken": _token("f", found[-1]), "nextBackwardToken": _token("b", found[0])}

    def filter_log_events(self, payload: dict[str, Any]) -> dict:
        group = self._existing(payload)
        names, prefix = payload.get("logStreamNames"), payload.get("logStreamNamePrefix")
        if names and prefix:
            raise _invalid("logStreamNames and logStreamNamePrefix are mutually exclusive.")
        if prefix:
            names = [s.name for s in self._store.streams(group, prefix=prefix)]
            if not names:
                return {"events": [], "searchedLogStreams": []}
        try:
            matches = log_filter.compile_pattern(payload.get("filterPattern"))
        except log_filter.PatternError as exc:
            raise _invalid(f"Invalid filter pattern: {exc}") from None
        limit = min(payload.get("limit") or 10_000, 10_000)
        mark = _mark(payload.get("nextToken"), "n")
        terms = log_filter.required_terms(payload.get("filterPattern"))  # narrows the scan inside SQLite
        found: list[Event] = []
        while len(found) < limit:
            batch = self._store.events(group, streams=names, start=payload.get("startTime"),
                                       end=_end(payload.get("endTime")), after=mark, limit=SCAN, containing=terms)
            found += [e for e in batch if matches(e.message)][:limit - len(found)]
            if len(batch) < SCAN:
                mark = None
                break
            mark = (batch[-1].timestamp, batch[-1].id)
        if len(found) >= limit:
            mark = (found[-1].timestamp, found[-1].id)
        reply: dict[str, Any] = {"events": [
            {"logStreamName": e.stream, "timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingested,
             "eventId": f"{e.timestamp:019d}{e.id:019d}"} for e in found], "searchedLogStreams": []}
        if mark is not None:
            reply["nextToken"] = f"n/{mark[0]:019d}/{mark[1]:019d}"
        return reply

    # --- Logs Insights -------------------------------------------------------------------------
    def start_query(self, payload: dict[str, Any]) -> dict:
        names = list(payload.get("logGroupNames") or [])
        names += [i.split(":log-group:", 1)[-1].removesuffix(":*") for i in payload.get("logGroupIdentifiers") or []]
        if payload.get("logGroupName"):
            names.append(payload["logGroupName"])
        if not names:
            raise _invalid("Name at least one log group: logGroupName, logGroupNames or logGroupIdentifiers.")
        if len(names) > MAX_QUERY_GROUPS:
            raise _invalid(f"A query reads at most {MAX_QUERY_GROUPS} log groups.")
        for name in names:
            if self._store.group(name) is None:
                raise CloudWatchError("ResourceNotFoundException", f"Log group {name!r} does not exist.")
        try:
            query = insights.compile_query(payload.get("queryString") or "", limit=payload.get("limit"))
        except insights.QueryError as exc:
            raise CloudWatchError("MalformedQueryException", str(exc)) from None
        start, end = payload.get("startTime"), payload.get("endTime")
        if start is None or end is None or end < start:
            raise _invalid("startTime and endTime (seconds) are required, startTime first.")
        query_id = str(uuid.uuid4())
        entry: dict[str, Any] = {"status": "Scheduled", "results": [], "statistics": _statistics(0, 0, 0),
                                 "stopped": threading.Event()}
        with self._queries_lock:
            self._queries[query_id] = entry
            for old in list(self._queries)[:-KEPT_QUERIES]:
                del self._queries[old]
        self._pool.submit(self._run_query, entry, query, names, start * 1000, end * 1000 + 999)
        return {"queryId": query_id}

    def get_query_results(self, payload: dict[str, Any]) -> dict:
        entry = self._query(payload)
        return {"queryLanguage": "CWLI", "status": entry["status"], "results": entry["results"],
                "statistics": entry["statistics"]}

    def stop_query(self, payload: dict[str, Any]) -> dict:
        entry = self._query(payload)
        if entry["status"] not in ("Scheduled", "Running"):
            raise _invalid("The query is not running.")
        entry["stopped"].set()
        return {"success": True}

    def _query(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self._queries_lock:
            entry = self._queries.get(payload.get("queryId") or "")
        if entry is None:
            raise CloudWatchError("ResourceNotFoundException", "The query does not exist (or is too old to keep).")
        return entry

    def _run_query(self, entry: dict[str, Any], query: insights.Query, groups: list[str], start: int,
                   end: int) -> None:
        """Run `query` with what the store can do of it (`insights_scan`): counts per bin, or events
        streamed in the order the result wants until its limit, narrowed to the messages holding the
        query's texts; Python does the rest."""
        entry["status"] = "Running"
        stopped: threading.Event = entry["stopped"]
        scan = insights_scan.scan_of(query)
        try:
            with self._store.reader(stop=stopped.is_set) as reader:
                sizes = [reader.size(group, start=start, end=end) for group in groups]
                if scan.count_bin is not None:
                    counts: collections.Counter[int | None] = collections.Counter()
                    for group in groups:
                        counts.update(reader.counts(group, start=start, end=end, containing=scan.containing,
                                                    width=scan.count_bin))
                    results = query.run_counted(counts)
                else:
                    descending = scan.order == "desc"
                    streams = [self._rows(reader.events(group, start=start, end=end, containing=scan.containing,
                                                        descending=descending), group, index)
                               for index, group in enumerate(groups)]
                    if scan.order:
                        ordered = heapq.merge(*streams, key=_newest_first if descending else _oldest_first)
                        results = query.run((row for _, row in ordered), ordered=True)
                    else:
                        results = query.run(row for _, row in itertools.chain(*streams))
        except Stopped:
            entry["status"] = "Cancelled"
            return
        except Exception:
            entry["status"] = "Failed"
            raise
        if stopped.is_set():
            entry["status"] = "Cancelled"
            return
        entry["results"] = results
        entry["statistics"] = _statistics(len(results), sum(n for n, _ in sizes), sum(b for _, b in sizes))
        entry["status"] = "Complete"

    def _rows(self, events: Iterator[Event], group: str, index: int) -> Iterator[tuple[tuple[int, int, int], dict]]:
        """Events as Insights' rows, each with (time, group's place in the query, id) to merge groups by."""
        log = f"{self._account}:{group}"
        for event in events:
            yield (event.timestamp, index, event.id), {
                "@timestamp": event.timestamp, "@message": event.message, "@logStream": event.stream, "@log": log,
                "@ingestionTime": event.ingested, "@ptr": f"{group}/{event.id}"}

    def _existing(self, payload: dict[str, Any]) -> str:
        name = payload.get("logGroupName") or payload.get("logGroupIdentifier") or ""
        name = name.split(":log-group:", 1)[-1].removesuffix(":*")
        if self._store.group(name) is None:
            raise _missing_group()
        return name


def _newest_first(item: tuple[tuple[int, int, int], dict]) -> tuple[int, int, int]:
    stamp, index, event_id = item[0]
    return -stamp, index, event_id


def _oldest_first(item: tuple[tuple[int, int, int], dict]) -> tuple[int, int, int]:
    return item[0]


def _statistics(matched: int, scanned: int, scanned_bytes: int) -> dict[str, float]:
    return {"recordsMatched": float(matched), "recordsScanned": float(scanned), "bytesScanned": float(scanned_bytes)}


def _group_name(payload: dict[str, Any]) -> str:
    name = payload.get("logGroupName") or ""
    if not name or len(name) > 512 or not all(c.isalnum() or c in "_-/.#" for c in name):
        raise _invalid("A log group name is 1-512 characters of letters, digits and _ - / . #.")
    return name


def _missing_group() -> CloudWatchError:
    return CloudWatchError("ResourceNotFoundException", "The specified log group does not exist.")


def _end(end: int | None) -> int | None:
    return end - 1 if end is not None else None  # endTime is exclusive


def _page(items: Sequence[Item], payload: dict[str, Any]) -> tuple[Sequence[Item], dict[str, str]]:
    """A page of a Describe call: `limit` items (50 unless given) from the payload's `nextToken`."""
    return page(items, payload, payload.get("limit") or 50, key="nextToken", code="InvalidParameterException")
