"""Alarm state from the latest evaluation periods, and the event an alarm change becomes."""

import pytest

from aerodrome.domain.alarms import ALARM, INSUFFICIENT, OK, Rule, evaluate
from aerodrome.domain.events import OutboxEvent, to_eventbridge


def rule(**changes):
    values = {"threshold": 5, "comparison": "GreaterThanThreshold", "evaluation_periods": 3, "datapoints_to_alarm": 2}
    return Rule(**{**values, **changes})


@pytest.mark.parametrize("values, treat, current, expected", [
    ([6, 1, 7], "missing", OK, ALARM),  # 2 of 3 breach
    ([6, 1, 1], "missing", ALARM, OK),
    ([None, None, None], "missing", OK, INSUFFICIENT),
    ([None, None, None], "ignore", ALARM, ALARM),
    ([None, None, None], "notBreaching", ALARM, OK),
    ([None, 6, None], "breaching", OK, ALARM),
    ([None, 6, None], "missing", OK, OK),  # one present breach is not two
])
def test_datapoints_to_alarm_and_missing_data(values, treat, current, expected):
    assert evaluate(rule(treat_missing=treat), values, current).state == expected


def test_comparisons_are_as_named_and_the_reason_shows_the_datapoints():
    assert evaluate(rule(comparison="GreaterThanOrEqualToThreshold", datapoints_to_alarm=1), [5, None, None],
                    OK).state == ALARM
    assert evaluate(rule(comparison="LessThanThreshold", datapoints_to_alarm=3), [1, 2, 4], OK).state == ALARM
    verdict = evaluate(rule(comparison="LessThanOrEqualToThreshold"), [9, 9, None], ALARM)
    assert verdict.state == OK and "[9, 9, missing]" in verdict.reason and "<=" in verdict.reason


def test_an_alarm_change_is_cloudwatchs_eventbridge_event():
    detail = {"alarmName": "q", "alarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:q", "state": {"value": "ALARM"},
              "previousState": {"value": "OK"}}
    event = to_eventbridge(OutboxEvent(7, "dev", "alarm", detail, 0.0), region="us-east-1", account="1")
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [detail["alarmArn"]] and event["detail"] == detail
