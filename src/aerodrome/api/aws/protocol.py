"""restJson1 as the model defines it: route on method + raw path, read labels, query and body."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from aerodrome import errors
from aerodrome.api.aws.model import OPERATIONS, SHAPES


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern
    input_shape: str | None


@functools.cache
def routes() -> tuple[Route, ...]:
    found = []
    for name, op in OPERATIONS.items():
        path = op["uri"].split("?")[0]
        regex = re.sub(r"\\{(\w+)\+?\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path))
        found.append(Route(name, op["method"], re.compile(f"^{regex}$"), op["input"]))
    return tuple(found)


def match(method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
    for route in routes():
        if route.method == method:
            found = route.pattern.match(raw_path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
    raise errors.NotFound(f"No MWAA operation matches {method} {raw_path}.")


def parse_input(route: Route, labels: dict[str, str], query: str, body: bytes) -> dict:
    if route.input_shape is None:
        return {}
    members = SHAPES[route.input_shape].get("members", {})
    request = {k: v for k, v in json_object(body).items() if members.get(k, {}).get("location") is None}
    params = parse_qs(query, keep_blank_values=True)
    for member, spec in members.items():
        where, wire_name = spec.get("location"), spec.get("locationName", member)
        if where == "uri" and wire_name in labels:
            request[member] = labels[wire_name]
        elif where == "querystring" and wire_name in params:
            request[member] = _query_value(spec["shape"], params[wire_name], wire_name)
    return request


def json_object(body: bytes) -> dict:
    """A request body that is a JSON object ({} when empty); errors.Invalid otherwise."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise errors.Invalid("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise errors.Invalid("The request body must be a JSON object.")
    return data


def _query_value(shape_name: str, values: list[str], name: str) -> object:
    kind = SHAPES[shape_name]["type"]
    if kind == "list":
        return values
    if kind in ("integer", "long"):
        try:
            return int(values[0])
        except ValueError:
            raise errors.Invalid(f"Value '{values[0]}' at '{name}' failed to satisfy constraint: "
                                 "Member must be an integer") from None
    return values[0]
