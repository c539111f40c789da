import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from aerodrome import errors
from aerodrome.auth import sigv4

KEY, SECRET = "AKIATESTTESTTESTTEST", "s3cr3t-s3cr3t"
ARN_PATH = "/tags/arn%3Aaws%3Aairflow%3Aus-east-1%3A123456789012%3Aenvironment%2Fdev"


def signed(method="PUT", path="/environments/dev", query="", body=b'{"MaxWorkers": 2}', region="eu-west-1"):
    url = f"http://api.mwaa.test:8700{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(KEY, SECRET), "airflow", region).add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "api.mwaa.test:8700"
    return {"method": method, "raw_path": path, "query": query, "headers": headers, "body": body}


def verify(request, **overrides):
    args = {**request, "secret_for": {KEY: SECRET}.get, "service": "airflow", **overrides}
    return sigv4.verify(**args)


def test_botocore_signature_verifies_and_names_the_caller():
    caller = verify(signed())
    assert (caller.access_key_id, caller.region) == (KEY, "eu-west-1")


def test_percent_encoded_path_and_sorted_query_verify():
    verify(signed(method="DELETE", path=ARN_PATH, query="tagKeys=b&tagKeys=a", body=b""))
    verify(signed(method="GET", path="/environments", query="MaxResults=3&NextToken=a%20b%2Fc", body=b""))


@pytest.mark.parametrize("tamper", ["body", "path", "header", "query"])
def test_tampering_breaks_the_signature(tamper):
    request = signed(query="x=1")
    if tamper == "body":
        request["body"] = b'{"MaxWorkers": 20}'
    elif tamper == "path":
        request["raw_path"] = "/environments/prod"
    elif tamper == "header":
        request["headers"]["host"] = "evil.test"
    else:
        request["query"] = "x=2"
    with pytest.raises(errors.Unauthenticated) as info:
        verify(request)
    assert info.value.code == "InvalidSignatureException"


def test_wrong_secret_unknown_key_and_missing_header():
    with pytest.raises(errors.Unauthenticated) as info:
        verify(signed(), secret_for={KEY: "other"}.get)
    assert info.value.code == "InvalidSignatureException" and "other" not in str(info.value)
    with pytest.raises(errors.Unauthenticated) as info:
        verify(signed(), secret_for={}.get)
    assert info.value.code == "UnrecognizedClientException"
    request = signed()
    del request["headers"]["authorization"]
    with pytest.raises(errors.Unauthenticated) as info:
        verify(request)
    assert info.value.code == "MissingAuthenticationTokenException"


def test_old_signatures_expire():
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=16)
    with pytest.raises(errors.Unauthenticated, match="Signature expired") as info:
        verify(signed(), now=later)
    assert info.value.code == "InvalidSignatureException"


def test_other_service_scope_is_refused():
    with pytest.raises(errors.Unauthenticated, match="correct service"):
        verify(signed(), service="s3")
