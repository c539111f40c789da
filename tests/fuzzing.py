"""Requests generated from botocore's `mwaa` model: valid, boundary and invalid values for every
member, wrong types, huge and malformed bodies, bad, missing, expired and foreign signatures.
Seeded, so a failing case can be replayed by its number."""

from __future__ import annotations

import datetime
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock
from urllib.parse import quote, urlencode

import botocore.auth
import botocore.credentials
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.model import Shape

MODES = ("valid", "valid", "boundary", "invalid", "types", "raw", "signature")
KNOWN = {  # values the model's patterns accept and the service's own rules can pass
    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/airflow",
    "SourceBucketArn": "arn:aws:s3:::my-bucket",
    "KmsKey": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "AirflowVersion": "3.3.2",
    "EnvironmentClass": "mw1.small",
    "WeeklyMaintenanceWindowStart": "SUN:03:00",
    "ResourceArn": "arn:aws:airflow:us-east-1:000000000000:environment/fz",
    "Path": "/dags",
    "Method": "GET",
}
NASTY = ["", " ", "../../etc/passwd", "%2e%2e%2f", "\x00", "\u202e\u0000", "' OR 1=1 --", "{{7*7}}", "${jndi:x}",
         "a" * 5000, "😀" * 300, "\\\\evil", "//evil", "\r\nX-Injected: 1", "null", "-1", "1e309"]


@dataclass(frozen=True)
class Case:
    number: int
    mode: str
    operation: str
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]


class Generator:
    def __init__(self, *, seed: int, key: str, secret: str, region: str = "us-east-1"):
        self._random = random.Random(seed)
        self._model = botocore.session.get_session().get_service_model("mwaa")
        self._key, self._secret, self._region = key, secret, region

    def cases(self, count: int) -> Iterator[Case]:
        operations = self._model.operation_names
        for number in range(count):
            mode = self._random.choice(MODES)
            yield self._case(number, mode, self._model.operation_model(self._random.choice(operations)))

    def ext_cases(self, count: int, prefix: str) -> Iterator[Case]:
        """Requests to Aerodrome's own API: its paths with good and hostile names, every method, JSON
        bodies of wrong shapes and types, raw garbage, and the same signatures as `cases` (never
        `follow=true`: a followed event stream does not end)."""
        templates = ["/events", "/environments/{n}/hibernate", "/environments/{n}/resume",
                     "/environments/{n}/confirm-endpoints", "/environments/{n}/schedules",
                     "/environments/{n}/snapshots", "/environments/{n}/snapshots/prune", "/snapshots",
                     "/snapshots/{n}/load", "/principals", "/principals/{n}", "/principals/{n}/policies/{n}",
                     "/audit", "/{n}", "", "/environments/{n}/{n}"]
        keys = ["Force", "Into", "Bucket", "Keep", "Schedules", "Kind", "Cron", "Timezone", "Name", "Document",
                "PolicyName", "Policy", "Principal", "after", "limit", "environment"]
        for number in range(count):
            mode = self._random.choice(MODES)
            names = ["dev", "fz", "admin", "x" * 80, *NASTY]
            path = self._random.choice(templates).replace(
                "{n}", quote(self._random.choice(names)[:300], safe="") or "x")
            method = self._random.choice(["GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
            query = {k: self._random.choice(["0", "-1", "now", "true", "1e309", *NASTY[:8]])
                     for k in self._random.sample(["after", "environment", "limit", "bucket", "name"],
                                                  self._random.randint(0, 2))}
            body_mode = "raw" if mode == "raw" else "types"
            body = {k: self._random.choice([None, True, -1, 2**70, 1.5, "", "dev", {"a": []}, [1, "x"],
                                            *NASTY[:6]]) for k in self._random.sample(keys, self._random.randint(0, 4))}
            raw = json.dumps(body).encode()
            if body_mode == "raw":
                raw = self._random.choice([b"{", b"[]", b"\xff\xfe", b"null", b"[" * 100_000,
                                           b" " * (2 * 1024 * 1024)])
            query_string = urlencode(query)
            headers = {"Content-Type": "application/json", "Host": "localhost"}
            headers = self._signed(method, prefix + path, query_string, raw, headers, mode)
            yield Case(number, mode, path, method, prefix + path, query_string, raw, headers)

    # --- values ---------------------------------------------------------------------------------
    def value(self, shape: Shape, mode: str, name: str = "", depth: int = 0) -> object:
        if mode == "types" and self._random.random() < 0.3:
            return self._random.choice([None, True, 3.5, -7, "x", [], {}, [1, "a"], {"a": {"b": []}}])
        kind = shape.type_name
        if kind == "structure":
            members = shape.members.items()
            required = set(shape.required_members)
            return {k: self.value(s, mode, k, depth + 1) for k, s in members
                    if k in required or (depth < 4 and self._random.random() < 0.5)}
        if kind == "list":
            count = self._count(shape, mode)
            return [self.value(shape.member, mode, name, depth + 1) for _ in range(count)] if depth < 4 else []
        if kind == "map":
            count = self._count(shape, mode)
            return {str(self.value(shape.key, mode, "key")): self.value(shape.value, mode, name, depth + 1)
                    for _ in range(count)} if depth < 4 else {}
        if kind in ("integer", "long", "double", "float"):
            return self._number(shape, mode, kind)
        if kind == "boolean":
            return self._random.choice([True, False]) if mode != "invalid" else self._random.choice(["true", 0])
        if kind == "timestamp":
            return self._random.choice([1.7e9, "2026-12-01T00:00:00Z"] if mode != "invalid"
                                       else ["yesterday", -1e20, "2026-13-45"])
        if kind == "document":
            return self._random.choice([{}, {"conf": {"a": 1}}, [1, 2], "text", None, {"deep": [[[[{}]]]]}])
        return self._string(shape, mode, name)

    def _count(self, shape: Shape, mode: str) -> int:
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 4)
        if mode == "boundary":
            return self._random.choice([low, min(high, 60), high + 1, max(low - 1, 0)])
        return self._random.randint(low, min(high, low + 3))

    def _number(self, shape: Shape, mode: str, kind: str) -> object:
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 10)
        if mode == "boundary":
            return self._random.choice([low, high, low - 1, high + 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 64])
        if mode == "invalid":
            return self._random.choice(["1", "", 1.5, None, float("1e308")])
        value = self._random.randint(low, max(low, min(high, low + 5)))
        return float(value) if kind in ("double", "float") else value

    def _string(self, shape: Shape, mode: str, name: str) -> str:
        enum = shape.enum
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 64)
        if mode == "valid":
            if enum:
                return self._random.choice(enum)
            if name in KNOWN:
                return KNOWN[name]
            return "fz" + "".join(self._random.choices(string.ascii_lowercase + string.digits,
                                                       k=max(0, min(high, 8) - 2)))
        if mode == "boundary":
            size = self._random.choice([low, high, high + 1, max(low - 1, 0)])
            return "a" * min(size, 70_000)
        return self._random.choice(NASTY)

    # --- requests -------------------------------------------------------------------------------
    def _case(self, number: int, mode: str, operation) -> Case:
        shape = operation.input_shape
        data = self.value(shape, mode if mode in ("valid", "boundary", "invalid", "types") else "valid") \
            if shape else {}
        if not isinstance(data, dict):
            data = {}
        path, query, body = operation.http["requestUri"].split("?")[0], {}, {}
        for member, member_shape in (shape.members.items() if shape else []):
            if member not in data:
                continue
            where, wire = member_shape.serialization.get("location"), member_shape.serialization.get("name", member)
            if where == "uri":
                path = path.replace(f"{{{wire}}}", quote(str(data[member]), safe=""))
            elif where == "querystring":
                query[wire] = data[member] if not isinstance(data[member], list) else data[member][:3]
            else:
                body[member] = data[member]
        path = path.replace("{Name}", "fz").replace("{ResourceArn}", quote(KNOWN["ResourceArn"], safe=""))
        path = path.replace("{EnvironmentName}", "fz")
        raw = json.dumps(body, default=str).encode()
        if mode == "raw":
            raw = self._random.choice([b"{", b"[]", b"\xff\xfe", b"null", b'{"Name": ' * 5000, b"[" * 100_000,
                                       b" " * (7 * 1024 * 1024), json.dumps({"a": "b" * 10}).encode() * 3])
        query_string = urlencode({k: str(v) for k, v in query.items()}) if query else ""
        headers = {"Content-Type": "application/json", "Host": self._random.choice(["api.localhost", "localhost",
                                                                                 "env.localhost"])}
        headers = self._signed(operation.http["method"], path, query_string, raw, headers, mode)
        return Case(number, mode, operation.name, operation.http["method"], path, query_string, raw, headers)

    def _signed(self, method: str, path: str, query: str, body: bytes, headers: dict[str, str],
                mode: str) -> dict[str, str]:
        how = self._random.choice(["bad", "foreign", "missing", "expired", "future", "garbled"]) \
            if mode == "signature" else "good"
        if how == "missing":
            return headers
        key, secret = self._key, self._secret
        if how == "bad":
            secret = secret[::-1]
        if how == "foreign":
            key = "AKIA" + "".join(self._random.choices(string.ascii_uppercase, k=16))
        url = f"http://{headers['Host']}{path}" + (f"?{query}" if query else "")
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "airflow", self._region)
        shift = {"expired": -3600, "future": 3600}.get(how, 0)
        when = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(seconds=shift)
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda: when):
            signer.add_auth(request)
        signed = dict(request.headers.items())
        if how == "garbled":
            signed["Authorization"] = signed["Authorization"].replace("Signature=", "Signature=zz,")[:80]
        return signed

