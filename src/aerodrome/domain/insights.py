"""CloudWatch Logs Insights' query language, the commands people use to follow a run and count
things. Pure: `compile_query` checks a query (QueryError with a position) and gives a Query whose
`run(events)` yields the result rows.

    fields @timestamp, @message, level            display ...           (the columns shown)
    filter @message like /run-42/ and ms > 500    (=, !=, <, <=, >, >=, like "text" or /regex/,
                                                   not like, =~ /regex/, in [..], and, or, not, ())
    parse @message "* [*] *" as day, level, rest  (a glob with *), or /(?<name>re)/
    stats count(*) as n, avg(ms) by level, bin(5m) (count, count_distinct, sum, avg, min, max)
    sort @timestamp desc | limit 20 | dedup level

Events are dicts with @timestamp (ms), @message, @logStream, @log, @ingestionTime; a JSON message's
fields (nested keys joined with '.') are fields too, as Insights discovers them.

Its steps say enough of themselves for `insights_scan` to tell what a store may do before the rows
reach Python: `run(ordered=True)` takes events already in the result's time order and stops at the
limit; `run_counted` goes on from the store's counts per time bin.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]
Rows = Iterable[Row]
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<re>/(?:[^/\\]|\\.)+/)'
                    r'|(?P<num>-?\d+(?:\.\d+)?(?![\w.]))|(?P<period>\d[\w.]*)|(?P<op>=~|!=|<=|>=|[=<>(),|\[\]*])'
                    r'|(?P<name>[@A-Za-z_][\w.@-]*))')
_AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    """One command that turns rows into rows, with what a store needs to know of it."""

    kind: str  # filter, parse, stats, sort, dedup
    apply: Callable[[Rows], Rows]
    terms: tuple[str, ...] = ()  # filter: texts every @message it keeps holds
    exact: bool = False  # filter: keeping the messages that hold `terms` is the whole filter
    sort_keys: tuple[tuple[str, bool], ...] = ()  # sort: (field, descending)
    writes: tuple[str, ...] = ()  # parse: the fields it sets
    count_bin: int | None = None  # stats: only counts, by one bin of this many ms (0: no key)
    counted: Callable[[Mapping[int | None, int]], list[Row]] | None = None  # stats: its rows from counts


@dataclass
class Query:
    steps: list[Step] = field(default_factory=list)
    columns: list[str] | None = None  # None: @timestamp and @message
    limit: int = 10_000
    aggregated: bool = False
    time_columns: set[str] = field(default_factory=lambda: {"@timestamp", "@ingestionTime"})

    def run(self, events: Rows, *, ordered: bool = False) -> list[list[dict[str, str]]]:
        """The result rows over `events` (in store order: group by group, time then id within one).
        With `ordered`, the events come in the result's time order (`insights_scan.Scan.order`) and
        only the rows shown are read."""
        rows: Rows = map(_with_fields, events)
        if ordered:
            for step in self.steps:
                rows = rows if step.kind == "sort" else step.apply(rows)  # in that order already
            return self._shown(itertools.islice(rows, self.limit))
        return self._finish(rows, self.steps)

    def run_counted(self, counts: Mapping[int | None, int]) -> list[list[dict[str, str]]]:
        """The result from the store's counts of the events per bin of the stats step's `count_bin` ms
        (None the key of the one count when it is 0)."""
        at = next(i for i, step in enumerate(self.steps) if step.kind == "stats")
        counted = self.steps[at].counted
        assert counted is not None and self.steps[at].count_bin is not None
        return self._finish(counted(counts), self.steps[at + 1:])

    def _finish(self, rows: Rows, steps: list[Step]) -> list[list[dict[str, str]]]:
        for step in steps:
            rows = step.apply(rows)
        kept = list(rows)
        if not self.aggregated and not any(step.kind == "sort" for step in self.steps):
            kept.sort(key=lambda r: r.get("@timestamp", 0), reverse=True)
        return self._shown(kept[:self.limit])

    def _shown(self, rows: Rows) -> list[list[dict[str, str]]]:
        columns = self.columns or ["@timestamp", "@message"]
        out = []
        for row in rows:
            shown = [{"field": c, "value": _text(row[c], c in self.time_columns)} for c in columns
                     if row.get(c) is not None]
            if not self.aggregated and "@ptr" in row:
                shown.append({"field": "@ptr", "value": str(row["@ptr"])})
            out.append(shown)
        return out


def compile_query(text: str, *, limit: int | None = None) -> Query:
    query = Query()
    for part in _split(text):
        tokens = _tokens(part)
        if not tokens:
            raise QueryError("A query has an empty command between two '|'.")
        command = tokens[0][1].lower()
        rest = tokens[1:]
        if command in ("fields", "display"):
            query.columns = _names(rest, command)
        elif command == "filter":
            test, terms, exact = _Expr(rest).parse()
            query.steps.append(Step("filter", _filter(test), terms=terms, exact=exact))
        elif command == "parse":
            query.steps.append(_parse(rest))
        elif command == "stats":
            step, columns, bins = _stats(rest)
            query.steps.append(step)
            query.columns, query.aggregated = columns, True
            query.time_columns |= bins
        elif command == "sort":
            query.steps.append(_sort(rest))
        elif command == "limit":
            if len(rest) != 1 or rest[0][0] != "num":
                raise QueryError("limit takes one number, e.g. `limit 20`.")
            query.limit = min(int(float(rest[0][1])), 10_000)
        elif command == "dedup":
            query.steps.append(Step("dedup", _dedup(_names(rest, "dedup"))))
        else:
            raise QueryError(f"Unknown command {tokens[0][1]!r}: this build has fields, display, filter, parse, "
                             "stats, sort, limit and dedup.")
    if limit is not None:
        query.limit = min(query.limit, limit)
    return query


# --- reading the text --------------------------------------------------------------------------
def _split(text: str) -> list[str]:
    """The commands between '|' (a '|' inside quotes or /regex/ does not split)."""
    parts, current, quote = [], "", ""
    for char in text:
        if quote:
            current += char
            if char == quote and not current.endswith("\\" + char):
                quote = ""
        elif char in "\"'/":
            quote = char
            current += char
        elif char == "|":
            parts.append(current)
            current = ""
        else:
            current += char
    if quote:
        raise QueryError(f"A {quote} is not closed.")
    parts.append(current)
    return [p.strip() for p in parts]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if not found or found.end() == position:
            raise QueryError(f"Cannot read the query at {text[position:].strip()[:30]!r}.")
        kind = found.lastgroup or "op"
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


def _names(tokens: list[tuple[str, str]], command: str) -> list[str]:
    names = [value for kind, value in tokens if kind == "name"]
    if not names or any(kind not in ("name", "op") or (kind == "op" and value != ",") for kind, value in tokens):
        raise QueryError(f"{command} takes field names separated by commas.")
    return names


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return value[1:-1].replace('\\"', '"').replace("\\'", "'")
    if kind == "num":
        return float(value)
    if kind == "re":
        try:
            return re.compile(value[1:-1])
        except re.error as exc:
            raise QueryError(f"The regular expression {value} is not valid: {exc}.") from None
    raise QueryError(f"Expected a value, found {value!r}.")


# --- commands ------------------------------------------------------------------------------------
# a filter's test, the texts every @message it keeps holds, and whether holding them is the whole test
_Test = tuple[Callable[[Row], bool], tuple[str, ...], bool]


class _Expr:
    """filter's boolean expression."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.index = tokens, 0
        if not tokens:
            raise QueryError("filter needs a condition, e.g. `filter level = \"ERROR\"`.")

    def peek(self) -> str:
        return self.tokens[self.index][1].lower() if self.index < len(self.tokens) else ""

    def take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise QueryError("The filter ends too early.")
        self.index += 1
        return self.tokens[self.index - 1]

    def parse(self) -> _Test:
        test = self.any_of()
        if self.index != len(self.tokens):
            raise QueryError(f"Unexpected {self.tokens[self.index][1]!r} in the filter.")
        return test

    def any_of(self) -> _Test:
        tests = [self.all_of()]
        while self.peek() == "or":
            self.take()
            tests.append(self.all_of())
        if len(tests) == 1:
            return tests[0]
        checks = [t[0] for t in tests]
        return lambda row: any(check(row) for check in checks), (), False

    def all_of(self) -> _Test:
        tests = [self.one()]
        while self.peek() == "and":
            self.take()
            tests.append(self.one())
        if len(tests) == 1:
            return tests[0]
        checks = [t[0] for t in tests]
        terms = tuple(dict.fromkeys(term for t in tests for term in t[1]))
        return lambda row: all(check(row) for check in checks), terms, all(t[2] for t in tests)

    def one(self) -> _Test:
        if self.peek() == "not":
            self.take()
            negated = self.one()[0]
            return lambda row: not negated(row), (), False
        if self.peek() == "(":
            self.take()
            inner = self.any_of()
            if self.take()[1] != ")":
                raise QueryError("A '(' in the filter is not closed.")
            return inner
        kind, name = self.take()
        if kind != "name":
            raise QueryError(f"Expected a field name in the filter, found {name!r}.")
        negate = self.peek() == "not"
        if negate:
            self.take()
        operator = self.take()[1].lower()
        if operator == "like" or operator == "=~":
            pattern = _literal(*self.take())
            test = (lambda v, p=pattern: p.search(str(v)) is not None) if isinstance(pattern, re.Pattern) \
                else (lambda v, p=pattern: str(p) in str(v))
            text = _plain(pattern) if name == "@message" and not negate else None
            return (lambda row: (row.get(name) is not None and test(row[name])) != negate,
                    (text,) if text else (), bool(text))
        if operator == "in":
            if self.take()[1] != "[":
                raise QueryError("in takes a list, e.g. `level in [\"ERROR\", \"WARN\"]`.")
            values = []
            while self.peek() != "]":
                values.append(_literal(*self.take()))
                if self.peek() == ",":
                    self.take()
            self.take()
            return lambda row: any(_equal(row.get(name), v) for v in values) != negate, (), False
        if operator not in ("=", "!=", "<", "<=", ">", ">="):
            raise QueryError(f"Unknown comparison {operator!r} in the filter.")
        value = _literal(*self.take())
        return lambda row: _compare(row.get(name), operator, value), (), False


_SPECIAL = set(".^$*+?{}[]|()")


def _plain(pattern: str | float | re.Pattern) -> str | None:
    """The text a `like` pattern looks for when it is plain text (a regex without special characters),
    else None: finding that text in a message is the whole test."""
    if isinstance(pattern, str):
        return pattern
    if not isinstance(pattern, re.Pattern) or pattern.flags & ~re.UNICODE:
        return None
    text, escaped = "", False
    for char in pattern.pattern:
        if escaped:
            if char.isalnum() or char == "_":  # \d, \w, \b, \1 ...: a class, not a character
                return None
            text, escaped = text + char, False
        elif char == "\\":
            escaped = True
        elif char in _SPECIAL:
            return None
        else:
            text += char
    return None if escaped else text


def _equal(found: Any, value: Any) -> bool:
    if found is None:
        return False
    if isinstance(value, float):
        try:
            return float(found) == value
        except (TypeError, ValueError):
            return False
    return str(found) == str(value)


def _compare(found: Any, operator: str, value: Any) -> bool:
    if found is None:
        return False
    if operator in ("=", "!="):
        return _equal(found, value) == (operator == "=")
    try:
        left, right = (float(found), float(value)) if isinstance(value, float) else (str(found), str(value))
    except (TypeError, ValueError):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]  # type: ignore[operator]


def _parse(tokens: list[tuple[str, str]]) -> Step:
    if len(tokens) < 2 or tokens[0][0] != "name" or tokens[1][0] not in ("str", "re"):
        raise QueryError('parse takes a field and a pattern: parse @message "* [*] *" as a, b, c.')
    source, (kind, raw) = tokens[0][1], tokens[1]
    if kind == "re":
        pattern = _literal(kind, raw.replace("(?<", "(?P<"))
        names = list(pattern.groupindex)
    else:
        glob = _literal(kind, raw)
        if len(tokens) < 4 or tokens[2][1].lower() != "as":
            raise QueryError("parse with a glob pattern names its fields: ... as a, b, c.")
        names = _names(tokens[3:], "parse ... as")
        pattern = re.compile("^" + "(.*?)".join(re.escape(part) for part in glob.split("*")) + "$")
        if pattern.groups != len(names):
            raise QueryError(f"The pattern has {pattern.groups} '*' but {len(names)} names follow 'as'.")

    def step(rows: Rows) -> Iterator[Row]:
        for row in rows:
            found = pattern.search(str(row.get(source, "")))
            if found:
                row.update(zip(names, found.groups(), strict=False) if kind != "re" else found.groupdict().items())
            yield row

    return Step("parse", step, writes=tuple(names))


def _stats(tokens: list[tuple[str, str]]) -> tuple[Step, list[str], set[str]]:
    """The step, its columns (keys, then statistics) and which of them are time bins."""
    aggregates: list[tuple[str, str, str | None]] = []  # (column, function, field or None for *)
    keys: list[tuple[str, str, float | None]] = []  # (column, field, bin seconds or None)
    index, by = 0, False
    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "name" and value.lower() == "by":
            by, index = True, index + 1
            continue
        if kind == "op" and value == ",":
            index += 1
            continue
        if kind != "name":
            raise QueryError(f"Unexpected {value!r} in stats.")
        function = value.lower()
        if index + 1 < len(tokens) and tokens[index + 1][1] == "(":
            close = next((i for i in range(index + 2, len(tokens)) if tokens[i][1] == ")"), None)
            if close is None:
                raise QueryError(f"{value}( is not closed.")
            inner = [t[1] for t in tokens[index + 2:close]]
            column = f"{value}({''.join(inner)})"
            index = close + 1
            if index + 1 < len(tokens) and tokens[index][1].lower() == "as":
                column, index = tokens[index + 1][1], index + 2
            if by:
                if function != "bin" or len(inner) != 1:
                    raise QueryError("After `by` come fields and bin(5m).")
                found = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", inner[0])
                if not found:
                    raise QueryError(f"bin takes a period such as 5m, 30s or 1h, not {inner[0]!r}.")
                keys.append((column, "@timestamp", float(found.group(1)) * _UNITS[found.group(2)]))
            else:
                if function not in _AGGREGATES:
                    raise QueryError(f"Unknown statistic {value}: this build has {', '.join(_AGGREGATES)}.")
                argument = None if inner in ([], ["*"]) else "".join(inner)
                aggregates.append((column, function, argument))
        else:
            if not by:
                raise QueryError(f"stats needs a function such as count(*), not {value!r}.")
            column, index = value, index + 1
            if index + 1 < len(tokens) and tokens[index][1].lower() == "as":
                column, index = tokens[index + 1][1], index + 2
            keys.append((column, value, None))
    if not aggregates:
        raise QueryError("stats needs at least one function, e.g. stats count(*) by level.")

    time_keys = [column for column, _, size in keys if size]

    def newest_first(out: list[Row]) -> list[Row]:
        out.sort(key=lambda r: tuple(r.get(c) or 0 for c in time_keys), reverse=True)
        return out

    def step(rows: Rows) -> list[Row]:
        groups: dict[tuple, list[Row]] = {}
        for row in rows:
            key = tuple(_bin(row.get("@timestamp"), size) if size else row.get(source) for _, source, size in keys)
            groups.setdefault(key, []).append(row)
        out = []
        for key, members in groups.items():
            result: Row = {column: value for (column, _, _), value in zip(keys, key, strict=True)}
            for column, function, argument in aggregates:
                result[column] = _aggregate(function, argument, members)
            out.append(result)
        return newest_first(out)

    def counted(counts: Mapping[int | None, int]) -> list[Row]:
        """The same rows from the number of events per bin (per None without a key)."""
        return newest_first([{**({keys[0][0]: key} if keys else {}), **{column: n for column, _, _ in aggregates}}
                             for key, n in counts.items() if n])

    # whole seconds: `_bin`'s float arithmetic is exact then, as the store's integer one is
    seconds = keys[0][2] if len(keys) == 1 and keys[0][2] and keys[0][2].is_integer() else 0 if not keys else None
    only_counts = all(function == "count" and argument is None for _, function, argument in aggregates)
    count_bin = int(seconds * 1000) if only_counts and seconds is not None else None
    return (Step("stats", step, count_bin=count_bin, counted=counted),
            [c for c, _, _ in keys] + [c for c, _, _ in aggregates], set(time_keys))


def _bin(stamp: Any, size: float) -> int | None:
    return None if stamp is None else int(stamp // (size * 1000) * size * 1000)


def _aggregate(function: str, argument: str | None, rows: list[Row]) -> float | int | None:
    if function == "count":
        return len(rows) if argument is None else sum(1 for r in rows if r.get(argument) is not None)
    values = [r.get(argument or "") for r in rows]
    if function == "count_distinct":
        return len({str(v) for v in values if v is not None})
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    if not numbers:
        return None
    if function == "avg":
        return sum(numbers) / len(numbers)
    return float({"sum": sum(numbers), "min": min(numbers), "max": max(numbers)}[function])


def _sort(tokens: list[tuple[str, str]]) -> Step:
    keys: list[tuple[str, bool]] = []
    for kind, value in tokens:
        if kind == "name" and value.lower() in ("asc", "desc") and keys:
            keys[-1] = (keys[-1][0], value.lower() == "desc")
        elif kind == "name":
            keys.append((value, False))
        elif value != ",":
            raise QueryError(f"Unexpected {value!r} in sort.")
    if not keys:
        raise QueryError("sort takes a field, e.g. `sort @timestamp desc`.")

    def step(rows: Rows) -> list[Row]:
        kept = list(rows)
        for name, descending in reversed(keys):
            present = [r for r in kept if r.get(name) is not None]
            missing = [r for r in kept if r.get(name) is None]
            present.sort(key=_sort_key(name), reverse=descending)
            kept = present + missing
        return kept

    return Step("sort", step, sort_keys=tuple(keys))


def _sort_key(name: str) -> Callable[[Row], tuple[int, Any]]:
    return lambda row: _sortable(row[name])


def _sortable(value: Any) -> tuple[int, Any]:
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value))


def _filter(test: Callable[[Row], bool]) -> Callable[[Rows], Rows]:
    return lambda rows: filter(test, rows)


def _dedup(names: list[str]) -> Callable[[Rows], Rows]:
    def step(rows: Rows) -> Iterator[Row]:
        seen = set()
        for row in rows:
            key = tuple(str(row.get(n)) for n in names)
            if key not in seen:
                seen.add(key)
                yield row

    return step


def _with_fields(event: Row) -> Row:
    row = dict(event)
    message = row.get("@message", "")
    if isinstance(message, str) and message.startswith("{"):
        try:
            document = json.loads(message)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for key, value in _flatten(document):
                row.setdefault(key, value)
    return row


def _flatten(document: dict, prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in document.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _text(value: Any, is_time: bool) -> str:
    if is_time and isinstance(value, int | float):
        moment = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)

