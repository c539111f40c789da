"""AWS Signature Version 4 verification for header-signed requests, as botocore signs them.

Pure apart from the clock passed in. The canonical URI is the raw path encoded once more (standard
for every service but S3); the payload hash is computed over the body.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from aerodrome import errors

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = datetime.timedelta(minutes=15)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Caller:
    access_key_id: str
    region: str
    service: str


def verify(*, method: str, raw_path: str, query: str, headers: Mapping[str, str], body: bytes,
           secret_for: Callable[[str], str | None], service: str,
           now: datetime.datetime | None = None) -> Caller:
    """Return the verified caller or raise errors.Unauthenticated with AWS's code."""
    header = headers.get("authorization")
    if not header:
        raise errors.Unauthenticated("Missing Authentication Token", code="MissingAuthenticationTokenException")
    fields = _parse_authorization(header)
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise errors.Unauthenticated("Credential should be scoped to a valid region, service and terminal "
                                     "'aws4_request'.", code="IncompleteSignatureException")
    access_key_id, day, region, scoped_service, _ = scope
    if scoped_service != service:
        raise errors.Unauthenticated(f"Credential should be scoped to correct service: '{service}'.",
                                     code="InvalidSignatureException")
    secret = secret_for(access_key_id)
    if secret is None:
        raise errors.Unauthenticated("The security token included in the request is invalid.",
                                     code="UnrecognizedClientException")
    amz_date = headers.get("x-amz-date", "")
    _check_time(amz_date, day, now or datetime.datetime.now(datetime.UTC))
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed:
        raise errors.Unauthenticated("Signed headers must include host.", code="IncompleteSignatureException")
    canonical = "\n".join([
        method.upper(), quote(raw_path, safe="/-_.~"), _canonical_query(query),
        "".join(f"{name}:{' '.join(headers.get(name, '').strip().split())}\n" for name in signed),
        ";".join(signed), hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256,
    ])
    string_to_sign = "\n".join([ALGORITHM, amz_date, "/".join(scope[1:]),
                                hashlib.sha256(canonical.encode()).hexdigest()])
    key = _signing_key(secret, day, region, service)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise errors.Unauthenticated(
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method.", code="InvalidSignatureException")
    return Caller(access_key_id=access_key_id, region=region, service=service)


def with_session_token(secret_for: Callable[[str, str | None], str | None],
                       headers: Mapping[str, str]) -> Callable[[str], str | None]:
    """`secret_for` for `verify`, given the request's session token (X-Amz-Security-Token; temporary
    credentials are only good with theirs)."""
    token = headers.get("x-amz-security-token")
    return lambda access_key_id: secret_for(access_key_id, token)


def access_key_of(headers: Mapping[str, str]) -> str | None:
    """The access key id an Authorization header names, if it names one (a hint for finding the
    secret: `verify` checks everything)."""
    found = _KEY.search(headers.get("authorization", ""))
    return found.group(1) if found else None


_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", re.ASCII)
_KEY = re.compile(r"Credential=([^/,\s]+)/")


def _parse_authorization(header: str) -> dict[str, str]:
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise errors.Unauthenticated(f"Unsupported signing algorithm; use {ALGORITHM}.",
                                     code="IncompleteSignatureException")
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise errors.Unauthenticated(f"Authorization header requires {', '.join(missing)}.",
                                     code="IncompleteSignatureException")
    return fields


def _check_time(amz_date: str, day: str, now: datetime.datetime) -> None:
    try:
        when = _parse_date(amz_date)
    except ValueError:
        raise errors.Unauthenticated("Authorization header requires existence of either a 'X-Amz-Date' or a "
                                     "'Date' header.", code="IncompleteSignatureException") from None
    if not amz_date.startswith(day):
        raise errors.Unauthenticated("The credential date does not match the request date.",
                                     code="InvalidSignatureException")
    if abs(now - when) > MAX_SKEW:
        raise errors.Unauthenticated(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} - 15 min.)",
            code="InvalidSignatureException")


@functools.lru_cache(maxsize=64)
def _parse_date(amz_date: str) -> datetime.datetime:
    """X-Amz-Date as strptime("%Y%m%dT%H%M%SZ") reads it, at a tenth of the cost (and kept: the
    requests of one second share it); ValueError when it is not one."""
    found = _AMZ_DATE.fullmatch(amz_date)
    if found is None:
        raise ValueError(amz_date)
    year, month, day_of_month, hour, minute, second = map(int, found.groups())
    return datetime.datetime(year, month, day_of_month, hour, minute, second, tzinfo=datetime.UTC)


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """Derived once a day per key, region and service, as AWS does; the signature is still checked
    on every request."""
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
