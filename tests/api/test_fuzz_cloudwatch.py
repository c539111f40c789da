"""Generated calls to CloudWatch and CloudWatch Logs: every operation of their botocore models with
valid, boundary, invalid and wrongly typed values, sent by boto3 in each protocol (client-side checks
off), plus unreadable bodies. No reply is a 5xx, every error carries a code botocore reads, and the
listeners still answer afterwards. CI runs a short variant; AERODROME_FUZZ_REQUESTS=10000 a long one."""

import os
import random

import boto3
import botocore.exceptions
import botocore.parsers
import httpx
from botocore import xform_name
from botocore.config import Config

from tests.api.test_cloudwatch_api import client_speaking
from tests.fuzzing import Generator

REQUESTS = int(os.environ.get("AERODROME_FUZZ_REQUESTS", "1500")) // 5
SEED = int(os.environ.get("AERODROME_FUZZ_SEED", "20261201"))
MODES = ("valid", "valid", "boundary", "invalid", "types")


def clients(control_plane, tmp_path):
    plain = {"endpoint_url": control_plane["url"], "region_name": "us-east-1",
             "aws_access_key_id": control_plane["key"], "aws_secret_access_key": control_plane["secret"],
             "config": Config(retries={"max_attempts": 1}, parameter_validation=False)}
    speaking = [client_speaking(p, control_plane, tmp_path) for p in ("smithy-rpc-v2-cbor", "json", "query")]
    for client in speaking:
        client.meta.config.parameter_validation = False
    return [*speaking, boto3.client("logs", **plain)]


def test_generated_cloudwatch_and_logs_calls_never_fail_the_server(control_plane, tmp_path):
    generator = Generator(seed=SEED, key=control_plane["key"], secret=control_plane["secret"])
    chooser = random.Random(SEED)
    failures, sent, unsent = [], 0, 0
    targets = clients(control_plane, tmp_path)
    for number in range(REQUESTS):
        client = chooser.choice(targets)
        model = client.meta.service_model
        operation = model.operation_model(chooser.choice(model.operation_names))
        mode = chooser.choice(MODES)
        payload = generator.value(operation.input_shape, mode) if operation.input_shape else {}
        method = getattr(client, xform_name(operation.name))
        try:
            method(**(payload if isinstance(payload, dict) else {}))
            sent += 1
        except botocore.exceptions.ClientError as error:
            sent += 1
            status = error.response["ResponseMetadata"].get("HTTPStatusCode", 0)
            code = error.response["Error"].get("Code", "")
            if status >= 500 or not code or code.isdigit():
                failures.append(f"#{number} {mode} {operation.name}: HTTP {status} code {code!r}")
        except botocore.parsers.ResponseParserError as error:  # the server answered what botocore cannot read
            failures.append(f"#{number} {mode} {operation.name}: {error}")
        except Exception:  # noqa: BLE001 - boto3 could not serialize the value: nothing reached the server
            unsent += 1
    assert not failures, failures[:20]
    assert sent > REQUESTS // 2, (sent, unsent)
    for body, headers in ((b"\xff\x00garbage", {"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor"}),
                          (b"{not json", {"x-amz-target": "Logs_20140328.DescribeLogGroups",
                                          "content-type": "application/x-amz-json-1.1"})):
        reply = httpx.post(control_plane["url"] + "/service/GraniteServiceVersion20100801/operation/ListMetrics",
                           content=body, headers=headers)
        assert reply.status_code < 500 and reply.status_code >= 400
    assert targets[0].list_metrics()["ResponseMetadata"]["HTTPStatusCode"] == 200
