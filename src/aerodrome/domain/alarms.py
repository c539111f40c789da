"""How a CloudWatch metric alarm decides its state from the latest evaluation periods. Pure.

`values` holds one entry per evaluation period, oldest first, None where the period had no datapoint.
The alarm goes to ALARM when at least `datapoints_to_alarm` of them breach; missing periods count
as TreatMissingData says: `missing` (default) leaves them out, and with none present the state is
INSUFFICIENT_DATA; `notBreaching` counts them as good, `breaching` as bad; `ignore` keeps the
current state while data is missing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT)
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge, "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le}
SYMBOLS = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">", "LessThanThreshold": "<",
           "LessThanOrEqualToThreshold": "<="}
TREATMENTS = ("missing", "notBreaching", "breaching", "ignore")


@dataclass(frozen=True)
class Rule:
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing: str = "missing"


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str


def evaluate(rule: Rule, values: Sequence[float | None], current: str) -> Verdict:
    compare = COMPARISONS[rule.comparison]
    present = [v for v in values if v is not None]
    missing = len(values) - len(present)
    breaching = sum(1 for v in present if compare(v, rule.threshold))
    if rule.treat_missing == "breaching":
        breaching += missing
    symbol = SYMBOLS[rule.comparison]
    shown = "[" + ", ".join("missing" if v is None else f"{v:g}" for v in values) + "]"
    if not present and rule.treat_missing in ("missing", "ignore"):
        if rule.treat_missing == "ignore":
            return Verdict(current, "No datapoints; the state is kept (TreatMissingData ignore).")
        return Verdict(INSUFFICIENT, f"Insufficient data: no datapoint in the last {len(values)} period(s).")
    if breaching >= rule.datapoints_to_alarm:
        return Verdict(ALARM, f"Threshold Crossed: {breaching} of {len(values)} datapoint(s) {shown} were "
                              f"{symbol} the threshold ({rule.threshold:g}).")
    return Verdict(OK, f"Threshold not crossed: {breaching} of {len(values)} datapoint(s) {shown} were "
                       f"{symbol} the threshold ({rule.threshold:g}); {rule.datapoints_to_alarm} needed.")
