"""CloudWatch Logs filter patterns (FilterLogEvents' `filterPattern`). Pure.

    ERROR Exception          every term appears (case-sensitive)
    "Out of memory"          a quoted phrase
    ?ERROR ?WARN             at least one of the ?-terms
    ERROR -Retrying          ... and not this one
    { $.level = "ERROR" }    JSON events: = != (strings, * wildcards), < <= > >= (numbers),
    { $.ms > 500 && ($.user = "a*" || $.code != 200) }   && || and parentheses;
    { $.error IS NULL } { $.x NOT EXISTS } { $.ok IS TRUE }

An empty pattern matches everything. Space-delimited patterns (`[ip, user, ...]`) are refused with a
message saying so.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[str], bool]
_MISSING = object()


class PatternError(ValueError):
    pass


def required_terms(pattern: str | None) -> list[str]:
    """Terms every matching event contains (a store can narrow its scan by them); [] for JSON patterns."""
    text = (pattern or "").strip()
    if not text or text.startswith(("{", "[")):
        return []
    return [term for sign, term in _parse_terms(text) if sign == ""]


def compile_pattern(pattern: str | None) -> Predicate:
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise PatternError("A JSON filter pattern must end with '}'.")
        test = _JsonParser(text[1:-1]).parse()

        def matches(message: str) -> bool:
            try:
                event = json.loads(message)
            except ValueError:
                return False
            return isinstance(event, dict) and test(event)

        return matches
    if text.startswith("["):
        raise PatternError("Space-delimited filter patterns ([a, b, ...]) are not supported by Aerodrome; use terms "
                           "or a JSON pattern.")
    return _terms(text)


def _parse_terms(text: str) -> list[tuple[str, str]]:
    """(sign, term) pairs: sign '' (required), '?' (one of) or '-' (excluded)."""
    found = []
    for match in re.finditer(r'([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))', text):
        sign, quoted, bare = match.groups()
        found.append((sign, quoted.replace('\\"', '"') if quoted is not None else bare))
    return found


def _terms(text: str) -> Predicate:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    for sign, term in _parse_terms(text):
        {"": required, "?": optional, "-": excluded}[sign].append(term)

    def matches(message: str) -> bool:
        return (all(t in message for t in required) and (not optional or any(t in message for t in optional))
                and not any(t in message for t in excluded))

    return matches


_TOKEN = re.compile(r'\s*(\$(?:\.[A-Za-z0-9_\-]+|\[\d+\])+|&&|\|\||!=|<=|>=|=|<|>|\(|\)|"(?:[^"\\]|\\.)*"'
                    r'|-?\d+(?:\.\d+)?|IS\s+NULL|NOT\s+EXISTS|IS\s+TRUE|IS\s+FALSE|[A-Za-z_*][\w*.\-]*)')


class _JsonParser:
    def __init__(self, text: str):
        self.tokens: list[str] = []
        position = 0
        while position < len(text):
            found = _TOKEN.match(text, position)
            if not found or found.end() == position:
                if text[position:].strip() == "":
                    break
                raise PatternError(f"The JSON filter pattern cannot be read at: {text[position:].strip()[:30]!r}")
            self.tokens.append(found.group(1))
            position = found.end()
        self.index = 0

    def parse(self) -> Callable[[dict], bool]:
        test = self.either()
        if self.index != len(self.tokens):
            raise PatternError(f"Unexpected {self.tokens[self.index]!r} in the JSON filter pattern.")
        return test

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        if self.index >= len(self.tokens):
            raise PatternError("The JSON filter pattern ends too early.")
        self.index += 1
        return self.tokens[self.index - 1]

    def either(self) -> Callable[[dict], bool]:
        tests = [self.both()]
        while self.peek() == "||":
            self.take()
            tests.append(self.both())
        return tests[0] if len(tests) == 1 else lambda event: any(test(event) for test in tests)

    def both(self) -> Callable[[dict], bool]:
        tests = [self.single()]
        while self.peek() == "&&":
            self.take()
            tests.append(self.single())
        return tests[0] if len(tests) == 1 else lambda event: all(test(event) for test in tests)

    def single(self) -> Callable[[dict], bool]:
        token = self.take()
        if token == "(":
            inner = self.either()
            if self.take() != ")":
                raise PatternError("A '(' in the JSON filter pattern is not closed.")
            return inner
        if not token.startswith("$"):
            raise PatternError(f"Expected a selector such as $.level, found {token!r}.")
        path = re.findall(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]", token)
        operator = self.take()
        if re.fullmatch(r"IS\s+NULL", operator):
            return lambda event: _lookup(event, path) is None
        if re.fullmatch(r"NOT\s+EXISTS", operator):
            return lambda event: _lookup(event, path) is _MISSING
        if re.fullmatch(r"IS\s+(TRUE|FALSE)", operator):
            wanted = operator.endswith("TRUE")
            return lambda event: _lookup(event, path) is wanted
        if operator not in ("=", "!=", "<", "<=", ">", ">="):
            raise PatternError(f"Unknown comparison {operator!r} in the JSON filter pattern.")
        raw = self.take()
        value: Any = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
        numeric = not raw.startswith('"') and re.fullmatch(r"-?\d+(?:\.\d+)?", raw) is not None
        if operator in ("<", "<=", ">", ">=") and not numeric:
            raise PatternError(f"{operator} compares numbers; {raw!r} is not one.")
        return lambda event: _compare(_lookup(event, path), operator, value, numeric)


def _lookup(event: Any, path: list[tuple[str, str]]) -> Any:
    current = event
    for key, index in path:
        if key and isinstance(current, dict) and key in current:
            current = current[key]
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            return _MISSING
    return current


def _compare(found: Any, operator: str, value: Any, numeric: bool) -> bool:
    if found is _MISSING or found is None:
        return False
    if numeric and isinstance(found, int | float) and not isinstance(found, bool):
        number = float(value)
        return {"=": found == number, "!=": found != number, "<": found < number, "<=": found <= number,
                ">": found > number, ">=": found >= number}[operator]
    if operator in ("=", "!="):
        equal = fnmatch.fnmatchcase(str(found), str(value))
        return equal if operator == "=" else not equal
    return False
