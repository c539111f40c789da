import pytest

from aerodrome import errors
from aerodrome.auth import policy

ENV = "arn:aws:airflow:us-east-1:123456789012:environment/dev"


def statements(*items):
    return policy.parse({"Version": "2012-10-17", "Statement": list(items)}) if items else ()


def test_default_deny_allow_and_explicit_deny():
    assert policy.decide(statements(), "airflow:GetEnvironment", ENV) == "ImplicitDeny"
    allow = {"Effect": "Allow", "Action": "airflow:Get*", "Resource": "arn:aws:airflow:*:*:environment/*"}
    assert policy.decide(statements(allow), "airflow:GetEnvironment", ENV) == "Allow"
    assert policy.decide(statements(allow), "airflow:DeleteEnvironment", ENV) == "ImplicitDeny"
    deny = {"Effect": "Deny", "Action": "airflow:*", "Resource": ENV}
    assert policy.decide(statements(allow, deny), "airflow:GetEnvironment", ENV) == "Deny"
    other = ENV.replace("/dev", "/prod")
    assert policy.decide(statements(allow, deny), "airflow:GetEnvironment", other) == "Allow"


def test_actions_fold_case_resources_do_not():
    allow = {"Effect": "Allow", "Action": ["AIRFLOW:getenvironment"], "Resource": [ENV]}
    assert policy.is_allowed(statements(allow), "airflow:GetEnvironment", ENV)
    assert not policy.is_allowed(statements(allow), "airflow:GetEnvironment", ENV.upper())


def test_question_mark_matches_one_character():
    allow = {"Effect": "Allow", "Action": "airflow:*", "Resource": "arn:aws:airflow:*:*:environment/de?"}
    assert policy.is_allowed(statements(allow), "airflow:GetEnvironment", ENV)
    assert not policy.is_allowed(statements(allow), "airflow:GetEnvironment", ENV + "v")


def test_granted_role_is_the_strongest_allowed_and_respects_deny():
    base = "arn:aws:airflow:us-east-1:123456789012:role/dev/"
    viewer = {"Effect": "Allow", "Action": "airflow:CreateWebLoginToken", "Resource": base + "Viewer"}
    assert policy.granted_role(statements(viewer), "airflow:CreateWebLoginToken", region="us-east-1",
                               account="123456789012", environment="dev") == "Viewer"
    everything = {"Effect": "Allow", "Action": "airflow:*", "Resource": base + "*"}
    no_admin = {"Effect": "Deny", "Action": "airflow:*", "Resource": base + "Admin"}
    assert policy.granted_role(statements(everything, no_admin), "airflow:CreateWebLoginToken",
                               region="us-east-1", account="123456789012", environment="dev") == "Op"
    assert policy.granted_role(statements(viewer), "airflow:CreateWebLoginToken", region="us-east-1",
                               account="123456789012", environment="prod") is None


@pytest.mark.parametrize("document, message", [
    ("not json", "not valid JSON"),
    ({}, '"Statement" list'),
    ({"Statement": []}, "non-empty list"),
    ({"Statement": [{"Effect": "Maybe", "Action": "a", "Resource": "*"}]}, '"Effect" must be'),
    ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, '"Action" must be'),
    ({"Statement": [{"Effect": "Allow", "Action": "a", "Resource": "*", "Condition": {}}]},
     "unsupported keys Condition"),
])
def test_bad_documents_are_rejected_with_a_reason(document, message):
    with pytest.raises(errors.Invalid, match=message):
        policy.parse(document)


def test_trust_rules_name_who_may_assume_a_role():
    alice, bob = "arn:aws:iam::000000000000:user/alice", "arn:aws:iam::000000000000:user/bob"
    named = policy.parse_trust({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
                                              "Principal": {"AWS": [alice]}}}, account="000000000000")
    assert policy.trusts(named, [alice]) and not policy.trusts(named, [bob])
    account = policy.parse_trust({"Statement": [
        {"Effect": "Allow", "Action": "sts:*", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}},
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"AWS": bob}}]}, account="000000000000")
    assert policy.trusts(account, [alice]) and not policy.trusts(account, [bob])
    assert not policy.trusts(account, ["arn:aws:iam::111111111111:user/alice"])
    with pytest.raises(errors.Invalid, match="Principal"):
        policy.parse_trust({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, account="0")
