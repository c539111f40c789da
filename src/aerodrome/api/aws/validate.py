"""Validate an operation's input against the generated model: required, types, lengths, ranges,
patterns and enums, as the service does (boto3 checks only some of these on the client).

Messages follow AWS's wording; values of `sensitive` shapes are never quoted.
"""

from __future__ import annotations

import functools

import regex

from aerodrome import errors
from aerodrome.api.aws.model import SHAPES

MAX_QUOTED = 120
# Where MWAA itself accepts more than botocore's model says. InvokeRestApi's Path: the model's 64
# characters are too few for a DAG run's path (Airflow's MwaaDagRunSensor polls
# /dags/<dag_id>/dagRuns/manual__2026-12-01T04:33:58.376187+00:00), which MWAA accepts.
WIDER = {"RestApiPath": {"max": 4096}}


def check(shape_name: str, value: object) -> None:
    """Raise errors.Invalid listing every violation in `value` of the shape."""
    problems: list[str] = []
    _check(shape_name, value, "", problems, sensitive=False)
    if problems:
        count = len(problems)
        noun = "validation error" if count == 1 else "validation errors"
        raise errors.Invalid(f"{count} {noun} detected: " + "; ".join(problems))


def _check(name: str, value: object, path: str, problems: list[str], *, sensitive: bool) -> None:
    shape = {**SHAPES[name], **WIDER[name]} if name in WIDER else SHAPES[name]
    sensitive = sensitive or bool(shape.get("sensitive"))
    kind = shape["type"]
    if shape.get("document"):
        return  # free-form JSON (InvokeRestApi's Body and QueryParameters): Airflow checks it
    if kind == "structure":
        _structure(shape, value, path, problems, sensitive=sensitive)
    elif kind == "list":
        _sized(shape, value, list, "list", path, problems)
        if isinstance(value, list):
            for index, item in enumerate(value):
                _check(shape["member"], item, f"{path}.{index + 1}.member" if path else str(index), problems,
                       sensitive=sensitive)
    elif kind == "map":
        _sized(shape, value, dict, "map", path, problems)
        if isinstance(value, dict):
            for key, item in value.items():
                _check(shape["key"], key, f"{path}.key", problems, sensitive=False)
                _check(shape["value"], item, f"{path}.{key}" if not sensitive else f"{path}.value", problems,
                       sensitive=sensitive)
    elif kind == "string":
        _string(shape, value, path, problems, sensitive=sensitive)
    elif kind in ("integer", "long"):
        _number(shape, value, path, problems)
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be a boolean")


def _structure(shape: dict, value: object, path: str, problems: list[str], *, sensitive: bool) -> None:
    if not isinstance(value, dict):
        problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be an object")
        return
    for member in shape.get("required", []):
        if value.get(member) is None:
            problems.append(f"Value null at '{_join(path, member)}' failed to satisfy constraint: "
                            "Member must not be null")
    for member, item in value.items():
        spec = shape.get("members", {}).get(member)
        if spec is None:
            problems.append(f"Unknown member '{_join(path, member)}'")
        elif item is not None:
            _check(spec["shape"], item, _join(path, member), problems, sensitive=sensitive)


def _sized(shape: dict, value: object, kind: type, noun: str, path: str, problems: list[str]) -> None:
    if not isinstance(value, kind):
        problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be a {noun}")
        return
    size = len(value)  # type: ignore[arg-type]
    if "min" in shape and size < shape["min"]:
        problems.append(f"Value at '{path}' failed to satisfy constraint: Member must have length greater than "
                        f"or equal to {shape['min']}")
    if "max" in shape and size > shape["max"]:
        problems.append(f"Value at '{path}' failed to satisfy constraint: Member must have length less than or "
                        f"equal to {shape['max']}")


def _string(shape: dict, value: object, path: str, problems: list[str], *, sensitive: bool) -> None:
    if not isinstance(value, str):
        problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be a string")
        return
    shown = "Value" if sensitive else f"Value '{value[:MAX_QUOTED]}'"
    if "min" in shape and len(value) < shape["min"]:
        problems.append(f"{shown} at '{path}' failed to satisfy constraint: Member must have length greater "
                        f"than or equal to {shape['min']}")
    elif "max" in shape and len(value) > shape["max"]:
        problems.append(f"{shown} at '{path}' failed to satisfy constraint: Member must have length less than "
                        f"or equal to {shape['max']}")
    elif "enum" in shape and value not in shape["enum"]:
        problems.append(f"{shown} at '{path}' failed to satisfy constraint: Member must satisfy enum value set: "
                        f"[{', '.join(shape['enum'])}]")
    elif "pattern" in shape and not _matches(shape["pattern"], value):
        problems.append(f"{shown} at '{path}' failed to satisfy constraint: Member must satisfy regular "
                        f"expression pattern: {shape['pattern']}")


def _number(shape: dict, value: object, path: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be an integer")
        return
    if "min" in shape and value < shape["min"]:
        problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value "
                        f"greater than or equal to {shape['min']}")
    if "max" in shape and value > shape["max"]:
        problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value "
                        f"less than or equal to {shape['max']}")


@functools.lru_cache(maxsize=4096)
def _matches(pattern: str, value: str) -> bool:
    """Kept per value: the same names come again and again, and a match in `regex` may let go of
    the GIL, which a busy event loop waits long to win back."""
    return _pattern(pattern).fullmatch(value) is not None


@functools.cache
def _pattern(pattern: str) -> regex.Pattern:
    """The model's patterns are Java regular expressions matched against the whole value."""
    return regex.compile(pattern.replace("Z-_", "Z\\-_"), regex.DOTALL)


def _join(path: str, member: str) -> str:
    member = member[:1].lower() + member[1:]
    return f"{path}.{member}" if path else member
