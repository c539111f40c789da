"""Rules for paths that callers hand us and we pass on: InvokeRestApi's Path and the login's `next`. Pure."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from aerodrome import errors

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_DECODES = 5


def _decoded(path: str) -> str:
    """`path` percent-decoded until it no longer changes (so `%252e` counts as `.`)."""
    for _ in range(_MAX_DECODES):
        once = unquote(path)
        if once == path:
            return path
        path = once
    return path


def rest_api_path(path: str) -> str:
    """InvokeRestApi's Path, checked to stay inside the Airflow REST API (`/api/v1` or `/api/v2`):
    a path that starts with `/`, with no dot segments, backslashes, empty segments, query or
    fragment, encoded or not. Returns the path unchanged; errors.Invalid otherwise."""
    plain = _decoded(path)
    problem = ""
    if not path.startswith("/") or not plain.startswith("/"):
        problem = "must start with '/'"
    elif _CONTROL.search(plain) or "\\" in plain:
        problem = "must not contain backslashes or control characters"
    elif any(segment in (".", "..") for segment in plain.split("/")):
        problem = "must not contain '.' or '..' segments"
    elif "//" in plain:
        problem = "must not contain empty segments ('//')"
    elif "?" in plain or "#" in plain:
        problem = "must not carry a query or fragment; pass query parameters in QueryParameters"
    if problem:
        raise errors.Invalid(f"Path {problem}; it names an Airflow REST API path such as /dags/my_dag/dagRuns.")
    return path


def same_origin(target: str) -> str | None:
    """The login's `next`: returned when it is a path on this web endpoint, None when it could lead
    elsewhere (`//host`, `/\\host`, `https:host`, control characters, encoded variants of these)."""
    plain = _decoded(target)
    if not target.startswith("/") or not plain.startswith("/"):
        return None
    if plain.startswith("//") or "\\" in plain or _CONTROL.search(plain):
        return None
    parts = urlsplit(plain)
    if parts.scheme or parts.netloc:
        return None
    return target
