"""CloudWatch metric math, the part GetMetricData needs: expressions over the time series other
queries return, by id.

    m1 + m2 * 2          arithmetic (+ - * /, unary -, parentheses) between series and numbers,
                         point by point on the timestamps both sides have
    SUM([m1, m2])        SUM, AVG, MIN, MAX over an array of series -> one series (per timestamp,
    AVG(METRICS())       over the series that have it); METRICS() is every MetricStat query
    MAX(METRICS("cpu"))  (never an expression), METRICS("x") those whose id contains x
    AVG(m1)              over a single series -> a scalar (a flat line on that series' timestamps)

A series is a dict {timestamp: value}. Errors raise `ExpressionError` with a message naming the
position, as CloudWatch's ValidationError does.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable

Series = dict[int, float]
Value = float | Series | list[Series]

_TOKEN = re.compile(r'\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|("[^"]*")|(.))')
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum, "AVG": statistics.fmean, "MIN": min, "MAX": max}


class ExpressionError(ValueError):
    pass


def evaluate(expression: str, series: dict[str, Series], metrics: set[str] | None = None) -> Series:
    """The series `expression` yields, given the named input series, of which `metrics` (default: all)
    are the MetricStat queries METRICS() stands for."""
    parser = _Parser(expression, series, set(series) if metrics is None else metrics)
    value = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"Unexpected '{parser.peek()}' at position {parser.position}.")
    if isinstance(value, list):
        raise ExpressionError("The expression yields several time series; aggregate them, e.g. SUM([...]).")
    if isinstance(value, dict):
        return value
    stamps = sorted({stamp for one in series.values() for stamp in one})
    return dict.fromkeys(stamps, value)


class _Parser:
    def __init__(self, text: str, series: dict[str, Series], metrics: set[str]):
        self.tokens: list[tuple[str, str, int]] = []
        for found in _TOKEN.finditer(text):
            number, name, quoted, other = found.groups()
            kind = "number" if number else "name" if name else "string" if quoted else "op"
            if other is not None and other.isspace():
                continue
            self.tokens.append((kind, number or name or quoted or other, found.start()))
        self.index = 0
        self.series = series
        self.metrics = metrics

    @property
    def position(self) -> int:
        return self.tokens[self.index][2] if self.index < len(self.tokens) else -1

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        if self.index >= len(self.tokens):
            raise ExpressionError("The expression ends too early." if expected is None
                                  else f"Expected '{expected}' at the end of the expression.")
        token = self.tokens[self.index]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"Expected '{expected}' at position {token[2]}, found '{token[1]}'.")
        self.index += 1
        return token

    def expression(self) -> Value:
        value = self.term()
        while self.peek() in ("+", "-"):
            operator = self.take()[1]
            value = _combine(value, self.term(), operator)
        return value

    def term(self) -> Value:
        value = self.unary()
        while self.peek() in ("*", "/"):
            operator = self.take()[1]
            value = _combine(value, self.unary(), operator)
        return value

    def unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            return _combine(0.0, self.unary(), "-")
        return self.atom()

    def atom(self) -> Value:
        kind, text, at = self.take()
        if kind == "number":
            return float(text)
        if text == "(":
            value = self.expression()
            self.take(")")
            return value
        if text == "[":
            items: list[Series] = []
            while True:
                item = self.expression()
                items.extend(item if isinstance(item, list) else [_series(item, at)])
                if self.peek() != ",":
                    break
                self.take(",")
            self.take("]")
            return items
        if kind == "name" and self.peek() == "(":
            return self.call(text.upper(), at)
        if kind == "name":
            if text not in self.series:
                raise ExpressionError(f"Unrecognized id '{text}' at position {at}: name a query of this request.")
            return self.series[text]
        raise ExpressionError(f"Unexpected '{text}' at position {at}.")

    def call(self, function: str, at: int) -> Value:
        self.take("(")
        if function == "METRICS":
            pattern = ""
            if self.peek() not in (")", None):
                kind, text, _ = self.take()
                if kind != "string":
                    raise ExpressionError(f"METRICS takes a quoted string, at position {at}.")
                pattern = text.strip('"')
            self.take(")")
            return [one for name, one in self.series.items() if name in self.metrics and pattern in name]
        if function not in _AGGREGATES:
            raise ExpressionError(f"Unknown function {function} at position {at}; "
                                  f"this build has {', '.join([*_AGGREGATES, 'METRICS'])}.")
        argument = self.expression()
        self.take(")")
        aggregate = _AGGREGATES[function]
        if isinstance(argument, list):
            stamps = sorted({stamp for one in argument for stamp in one})
            return {stamp: aggregate([one[stamp] for one in argument if stamp in one]) for stamp in stamps}
        if isinstance(argument, dict):
            return aggregate(list(argument.values())) if argument else 0.0
        raise ExpressionError(f"{function} takes a time series or an array of them, at position {at}.")


def _series(value: Value, at: int) -> Series:
    if not isinstance(value, dict):
        raise ExpressionError(f"An array holds time series only, at position {at}.")
    return value


def _apply(left: float, right: float, operator: str) -> float | None:
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    return left / right if right else None  # division by zero leaves the point out, as CloudWatch does


def _combine(left: Value, right: Value, operator: str) -> Value:
    if isinstance(left, list) or isinstance(right, list):
        raise ExpressionError(f"'{operator}' works on time series and numbers, not on arrays; aggregate first.")
    if isinstance(left, dict) or isinstance(right, dict):
        stamps = (set(left) if isinstance(left, dict) else set()) | (set(right) if isinstance(right, dict) else set())
        if isinstance(left, dict) and isinstance(right, dict):
            stamps = set(left) & set(right)
        out: Series = {}
        for stamp in sorted(stamps):
            a = left[stamp] if isinstance(left, dict) else left
            b = right[stamp] if isinstance(right, dict) else right
            value = _apply(a, b, operator)
            if value is not None:
                out[stamp] = value
        return out
    result = _apply(left, right, operator)
    if result is None:
        raise ExpressionError("Division by zero.")
    return result
