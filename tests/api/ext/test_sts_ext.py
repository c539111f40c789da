"""Temporary credentials (STS) on Aerodrome's own API: accepted with their session token, authorized as
the principal they act as; a role's trust rule is set through the API."""

import json
import time

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sqlalchemy import update

from aerodrome.cli import main
from aerodrome.cli.ext_client import ExtClient, ExtError
from aerodrome.services.sts import SecurityTokenService
from aerodrome.store.tables import SessionCredentialRow


def get(plane, path, key_id, secret, token):
    request = AWSRequest(method="GET", url=f"{plane['url']}/aerodrome/v1{path}")
    SigV4Auth(Credentials(key_id, secret, token), "airflow", "us-east-1").add_auth(request)
    return httpx.get(request.url, headers=dict(request.headers.items()))


def test_temporary_credentials_on_the_aerodrome_api(plane, monkeypatch, capsys):
    settings, store = plane["settings"], plane["store"]
    tokens = SecurityTokenService(store=store, account=settings.account)
    admin = tokens.session_token(plane["key"], duration=None)["Credentials"]
    keys = (admin["AccessKeyId"], admin["SecretAccessKey"])
    assert get(plane, "/principals", *keys, admin["SessionToken"]).status_code == 200
    forged = get(plane, "/principals", *keys, admin["SessionToken"] + "x")
    assert (forged.status_code, forged.json()["code"]) == (403, "UnrecognizedClientException")

    key, _ = plane["principals"].create("reader")
    client = ExtClient(settings)
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": settings.account}, "Action": "sts:AssumeRole"}]}
    monkeypatch.setenv("AERODROME_HOME", str(settings.home))
    assert main(["principals", "trust", "reader", json.dumps(trust)]) == 0, capsys.readouterr()
    bad = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    with pytest.raises(ExtError, match="Principal"):
        client.request("PUT", "/principals/reader/trust", body={"PolicyDocument": bad})
    assumed = tokens.assume_role(key, role_arn=f"arn:aws:iam::{settings.account}:role/reader",
                                 session_name="s1", duration=None)["Credentials"]
    denied = get(plane, "/principals", assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])
    assert (denied.status_code, denied.json()["code"]) == (403, "AccessDeniedException")  # reader has no policy

    with store.session() as session:
        session.execute(update(SessionCredentialRow).values(expires_at=time.time() - 1))
    expired = get(plane, "/principals", *keys, admin["SessionToken"])
    assert (expired.status_code, expired.json()["code"]) == (403, "ExpiredTokenException")
    described = {p["Name"]: p["Policies"] for p in client.request("GET", "/principals")["Principals"]}
    assert described["reader"] == {}  # the trust rule is no identity policy
