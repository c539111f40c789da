from aerodrome.domain.events import OutboxEvent, event_id, to_eventbridge
from aerodrome.events.webhooks import sign, verify

ARN = "arn:aws:airflow:us-east-1:000000000000:environment/dev"


def test_status_change_has_eventbridges_envelope():
    event = OutboxEvent(sequence=7, environment="dev", kind="status",
                        payload={"status": "AVAILABLE", "previousStatus": "CREATING", "arn": ARN},
                        created_at=1_800_000_000.0)
    shaped = to_eventbridge(event, region="us-east-1", account="000000000000")
    assert shaped == {
        "version": "0", "id": event_id(7, region="us-east-1", account="000000000000"),
        "detail-type": "MWAA Environment Status Change", "source": "aws.airflow",
        "account": "000000000000", "time": "2027-01-15T08:00:00Z", "region": "us-east-1",
        "resources": [ARN],
        "detail": {"name": "dev", "arn": ARN, "status": "AVAILABLE", "previousStatus": "CREATING",
                   "time": "2027-01-15T08:00:00Z"},
    }


def test_event_ids_are_stable_per_sequence_and_differ_between_sequences():
    assert event_id(1, region="r", account="a") == event_id(1, region="r", account="a")
    assert event_id(1, region="r", account="a") != event_id(2, region="r", account="a")


def test_signature_is_hmac_sha256_of_the_body():
    signature = sign("key", b'{"a":1}')
    # reference value computed independently with hmac.new(b"key", b'{"a":1}', hashlib.sha256)
    assert signature == "sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342"
    assert verify("key", b'{"a":1}', signature)
    assert not verify("other", b'{"a":1}', signature)
    assert not verify("key", b'{"a":2}', signature)
    assert not verify("key", b'{"a":1}', "")
