"""The wire protocols of CloudWatch (and, JSON only, CloudWatch Logs), read and written from
botocore's model of the service:

- smithy-rpc-v2-cbor (botocore 1.44's choice): POST /service/<target prefix>/operation/<Op>, CBOR
  bodies, timestamps as CBOR tag 1 (epoch seconds);
- awsJson1_0 (other SDKs, older botocore): POST / with X-Amz-Target <target prefix>.<Op>, JSON,
  timestamps as epoch seconds;
- query (the oldest SDKs, the AWS CLI v1 of some releases): a form POST to / with Action=<Op>,
  lists as Name.member.N, answered in XML.

Inputs become plain values with aware datetimes for timestamps; outputs go back the same way.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

import botocore.session
import cbor2
from botocore.model import ServiceModel, Shape

from aerodrome import errors
from aerodrome.web.xml import xml_text

CBOR, JSON, QUERY = "smithy-rpc-v2-cbor", "json", "query"


@dataclass(frozen=True)
class Call:
    protocol: str
    operation: str
    body: bytes


class Codec:
    def __init__(self, service: str = "cloudwatch"):
        self.model: ServiceModel = botocore.session.get_session().get_service_model(service)
        self.target = self.model.metadata["targetPrefix"]
        self.namespace = self.model.metadata.get("xmlNamespace", "")
        self.query_compatible = "awsQueryCompatible" in self.model.metadata
        self.media = {CBOR: "application/cbor", QUERY: "text/xml",
                      JSON: f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.0')}"}
        # awsQueryError code -> the error shape's name, for __type
        self.error_shapes = {}
        for shape in self.model.error_shapes:
            code = shape.metadata.get("error", {}).get("code", shape.name)
            self.error_shapes[code] = shape.name

    def operation(self, protocol: str, path: str, headers: Any, body: bytes) -> tuple[str, dict]:
        """The operation named by the request and its input."""
        if protocol == CBOR:
            name = path.rstrip("/").rsplit("/", 1)[-1]
        elif protocol == JSON:
            name = headers.get("x-amz-target", "").rsplit(".", 1)[-1]
        else:
            form = _form(body)
            name = form.pop("Action", "")
            form.pop("Version", None)
        if name not in self.model.operation_names:
            raise errors.NotFound(f"{name or 'No operation'} is not a CloudWatch operation.")
        shape = self.model.operation_model(name).input_shape
        if protocol == CBOR:
            raw = _decode(lambda: cbor2.loads(body) if body else {})
        elif protocol == JSON:
            raw = _decode(lambda: json.loads(body) if body else {})
        else:
            raw = _nest(form)
        if not isinstance(raw, dict):
            raise errors.Invalid("The request body is not an object.")
        return name, _read(shape, raw, protocol) if shape is not None else {}

    def reply(self, protocol: str, operation: str, result: dict, request_id: str) -> bytes:
        shape = self.model.operation_model(operation).output_shape
        if protocol == QUERY:
            root = ElementTree.Element(f"{operation}Response", xmlns=self.namespace)
            if shape is not None:
                _xml(ElementTree.SubElement(root, f"{operation}Result"), shape, result)
            ElementTree.SubElement(ElementTree.SubElement(root, "ResponseMetadata"), "RequestId").text = request_id
            return ElementTree.tostring(root, encoding="utf-8")
        value = _write(shape, result, protocol) if shape is not None else {}
        if protocol == CBOR:
            return cbor2.dumps(value, datetime_as_timestamp=True, timezone=datetime.UTC)
        return json.dumps(value).encode()

    def error(self, protocol: str, code: str, status: int, message: str, request_id: str) -> tuple[bytes, dict]:
        """The error body and headers; for a service that was a query service, the query code rides in
        x-amzn-query-error (awsQueryCompatible)."""
        headers = {"x-amzn-query-error": f"{code};{'Receiver' if status >= 500 else 'Sender'}"} \
            if self.query_compatible else {}
        if protocol == QUERY:
            root = ElementTree.Element("ErrorResponse", xmlns=self.namespace)
            error = ElementTree.SubElement(root, "Error")
            for name, text in (("Type", "Receiver" if status >= 500 else "Sender"), ("Code", code),
                               ("Message", message)):
                ElementTree.SubElement(error, name).text = xml_text(text)
            ElementTree.SubElement(root, "RequestId").text = request_id
            return ElementTree.tostring(root, encoding="utf-8"), {}
        document = {"__type": self.error_shapes.get(code, code), "message": message}
        if protocol == CBOR:
            return cbor2.dumps(document), headers
        return json.dumps(document).encode(), headers


def _decode(load: Any) -> Any:
    try:
        return load()
    except (ValueError, cbor2.CBORDecodeError, RecursionError):
        raise errors.Invalid("The request body could not be read: it is not well-formed.") from None


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise errors.Invalid("The request is not a well-formed query string.") from None
    return {name: values[0] for name, values in pairs.items()}


def _nest(form: dict[str, str]) -> dict:
    """`A.member.1.B=x` -> {"A": {"member": {"1": {"B": "x"}}}}; the model decides what is a list."""
    tree: dict = {}
    for key, value in form.items():
        node = tree
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise errors.Invalid(f"The parameter {key} clashes with another parameter.")
            node = child
        node[last] = value
    return tree


def _read(shape: Shape, value: Any, protocol: str) -> Any:
    kind = shape.type_name
    try:
        if kind == "structure":
            if not isinstance(value, dict):
                raise errors.Invalid(f"Expected an object for {shape.name}.")
            out = {}
            for name, member in shape.members.items():
                key = member.serialization.get("name", name) if protocol == QUERY else name
                if key in value and value[key] is not None:
                    out[name] = _read(member, value[key], protocol)
            return out
        if kind == "list":
            if protocol == QUERY:
                items = value.get("member", {}) if isinstance(value, dict) else {}
                value = [items[k] for k in sorted(items, key=lambda k: int(k))] if isinstance(items, dict) else []
            if not isinstance(value, list):
                raise errors.Invalid(f"Expected a list for {shape.name}.")
            return [_read(shape.member, item, protocol) for item in value]
        if kind == "map":
            if protocol == QUERY:
                entries = value.get("entry", {}) if isinstance(value, dict) else {}
                return {e["key"]: _read(shape.value, e.get("value"), protocol) for e in entries.values()}
            return {k: _read(shape.value, v, protocol) for k, v in value.items()}
        if kind == "timestamp":
            return _timestamp(value)
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("double", "float"):
            return float(value)
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if kind == "blob":
            return value
        return str(value)
    except (TypeError, ValueError, KeyError, AttributeError):
        raise errors.Invalid(f"A value for {shape.name} is not of type {kind}.") from None


def _timestamp(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    text = str(value).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromtimestamp(float(text), tz=datetime.UTC)
    except ValueError:
        parsed = datetime.datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _write(shape: Shape, value: Any, protocol: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {name: _write(shape.members[name], v, protocol) for name, v in value.items()
                if name in shape.members and v is not None}
    if kind == "list":
        return [_write(shape.member, item, protocol) for item in value]
    if kind == "map":
        return {k: _write(shape.value, v, protocol) for k, v in value.items()}
    if kind == "timestamp" and protocol == JSON:
        return value.timestamp()
    return value


def _xml(parent: ElementTree.Element, shape: Shape, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        for name, v in value.items():
            if name in shape.members and v is not None:
                member = shape.members[name]
                _xml(ElementTree.SubElement(parent, member.serialization.get("name", name)), member, v)
    elif kind == "list":
        for item in value:
            _xml(ElementTree.SubElement(parent, "member"), shape.member, item)
    elif kind == "map":
        for k, v in value.items():
            entry = ElementTree.SubElement(parent, "entry")
            ElementTree.SubElement(entry, "key").text = xml_text(k)
            _xml(ElementTree.SubElement(entry, "value"), shape.value, v)
    elif kind == "timestamp":
        parent.text = value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif kind == "boolean":
        parent.text = "true" if value else "false"
    else:
        parent.text = xml_text(value)
