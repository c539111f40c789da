"""Events as clients see them: EventBridge's envelope around one outbox entry. Pure; no I/O."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

SOURCE = "aws.airflow"
# outbox kind -> EventBridge detail-type; status changes use MWAA's own detail-type
DETAIL_TYPES: dict[str, str] = {
    "status": "MWAA Environment Status Change",
    "scale": "Aerodrome Environment Scaling",
    "sync": "Aerodrome Bundle Sync",
    "snapshot": "Aerodrome Environment Snapshot",
    "hibernate": "Aerodrome Environment Hibernation",
    "alarm": "CloudWatch Alarm State Change",
}
# kinds whose events come from another service than MWAA, with that service's envelope
SOURCES = {"alarm": "aws.cloudwatch"}
_NAMESPACE = uuid.UUID("6f1d5c52-3a8e-4f0e-9a53-5b0c2f4de1a7")


@dataclass(frozen=True)
class OutboxEvent:
    sequence: int  # outbox id: increases in commit order
    environment: str
    kind: str
    payload: dict
    created_at: float


def iso_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_id(sequence: int, *, region: str, account: str) -> str:
    """Stable per outbox entry, so a redelivered event carries the same id (receivers dedupe on it)."""
    return str(uuid.uuid5(_NAMESPACE, f"{account}:{region}:{sequence}"))


def to_eventbridge(event: OutboxEvent, *, region: str, account: str) -> dict:
    """The EventBridge envelope; `detail` has the environment's name and ARN, the time, and the
    kind's own fields (for status changes: `status` and `previousStatus`)."""
    payload = dict(event.payload)
    if event.kind == "alarm":  # CloudWatch's own shape: the payload is the detail, the alarm the resource
        arn, detail = payload.get("alarmArn"), payload
    else:
        arn = payload.pop("arn", None)
        detail = {"name": event.environment, "arn": arn, **payload, "time": iso_time(event.created_at)}
    return {
        "version": "0",
        "id": event_id(event.sequence, region=region, account=account),
        "detail-type": DETAIL_TYPES.get(event.kind, f"Aerodrome {event.kind.title()}"),
        "source": SOURCES.get(event.kind, SOURCE),
        "account": account,
        "time": iso_time(event.created_at),
        "region": region,
        "resources": [arn] if arn else [],
        "detail": detail,
    }
