"""KMS in the local cloud refuses the key policies KMS refuses (MalformedPolicyDocumentException, 400)
at CreateKey and PutKeyPolicy, creating or storing nothing (R14B-31)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

ROOT = {"AWS": "arn:aws:iam::123456789012:root"}


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


GOOD = policy({"Sid": "Account", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"})
# terraform/kms.tf's shape: the account, a service with a condition, a list of actions.
PROJECT_LIKE = policy(
    {
        "Effect": "Allow",
        "Principal": ROOT,
        "Action": ["kms:Create*", "kms:Put*", "kms:Get*", "kms:Decrypt"],
        "Resource": "*",
    },
    {
        "Effect": "Allow",
        "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*"],
        "Resource": "*",
        "Condition": {
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:*"}
        },
    },
)

MALFORMED = {
    "not JSON": "nope",
    "a list": "[]",
    "a string statement": policy("x"),
    "no statement": json.dumps({"Version": "2012-10-17"}),
    "no principal": policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
    "an invalid principal": policy({"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "kms:*"}),
    "effect Maybe": policy({"Effect": "Maybe", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}),
    "an unknown element": policy({"Effect": "Allow", "Principal": ROOT, "Actions": "kms:*"}),
    "a bad version": json.dumps({"Version": "2020-01-01", "Statement": json.loads(GOOD)["Statement"]}),
    "a condition that is a string": policy({"Effect": "Allow", "Principal": ROOT, "Condition": "x"}),
    "a character past Latin-1": GOOD.replace('"Account"', '"Acc\u20acount"'),
    "over 32768 characters": GOOD[:-1] + " " * 32768 + "}",
}


def refused(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "MalformedPolicyDocumentException",
        400,
    ), error
    return error["Error"]["Message"]


@pytest.mark.parametrize("document", MALFORMED.values(), ids=MALFORMED.keys())
def test_create_key_refuses_a_key_policy_kms_refuses_and_creates_no_key(aws_env, document):
    kms = boto3.client("kms")
    before = kms.list_keys()["Keys"]
    refused(lambda: kms.create_key(Policy=document, BypassPolicyLockoutSafetyCheck=True))
    assert kms.list_keys()["Keys"] == before


def test_put_key_policy_refuses_a_malformed_policy_and_keeps_the_key_usable(aws_env):
    kms = boto3.client("kms")
    key = kms.create_key(Policy=GOOD)["KeyMetadata"]["KeyId"]
    for document in MALFORMED.values():
        refused(
            lambda document=document: kms.put_key_policy(KeyId=key, PolicyName="default", Policy=document)
        )
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == GOOD
    assert kms.encrypt(KeyId=key, Plaintext=b"x")["KeyId"].endswith(key)
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=PROJECT_LIKE)  # and it can still be changed


def test_messages_say_what_is_wrong_with_the_key_policy(aws_env):
    kms = boto3.client("kms")
    assert "not valid JSON" in refused(lambda: kms.create_key(Policy="nope"))
    assert "Statement 1 is not an object" in refused(
        lambda: kms.create_key(Policy=MALFORMED["a string statement"])
    )
    assert "Principal" in refused(lambda: kms.create_key(Policy=MALFORMED["no principal"]))


def test_key_policies_kms_takes_are_taken(aws_env):
    """Action and Resource may be missing: "the policy statement has no effect", but KMS takes it."""
    kms = boto3.client("kms")
    without_resource = {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion"}
    for document in (GOOD, PROJECT_LIKE, policy(json.loads(GOOD)["Statement"][0], without_resource)):
        key = kms.create_key(Policy=document)["KeyMetadata"]["KeyId"]
        assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == document


def test_a_key_policy_that_would_lock_its_caller_out_is_refused_unless_the_check_is_bypassed(aws_env):
    """CreateKey / PutKeyPolicy: "The key policy must allow the calling principal to make a subsequent
    PutKeyPolicy request on the KMS key" unless BypassPolicyLockoutSafetyCheck (R14B-31's lock-out)."""
    kms = boto3.client("kms")
    service_only = policy(
        {"Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"}, "Action": "kms:Encrypt"}
    )
    denied = policy(
        json.loads(GOOD)["Statement"][0], {"Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy"}
    )
    before = kms.list_keys()["Keys"]
    assert "will not allow you to update the key policy" in refused(
        lambda: kms.create_key(Policy=service_only)
    )
    assert kms.list_keys()["Keys"] == before
    key = kms.create_key(Policy=GOOD)["KeyMetadata"]["KeyId"]
    for document in (service_only, denied):
        refused(
            lambda document=document: kms.put_key_policy(KeyId=key, PolicyName="default", Policy=document)
        )
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == GOOD
    kms.create_key(Policy=service_only, BypassPolicyLockoutSafetyCheck=True)  # meant: taken
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=PROJECT_LIKE)  # root may: taken


def test_schedule_key_deletion_and_create_key_refuse_values_kms_refuses(aws_env):
    """PendingWindowInDays 7-30 (a Terraform deletion_window_in_days of 3 applied here), a
    Description of at most 8,192 characters."""
    from botocore.config import Config

    kms = boto3.client("kms", config=Config(parameter_validation=False))
    key = kms.create_key(Policy=GOOD)["KeyMetadata"]["KeyId"]
    for days in (3, 31):
        with pytest.raises(ClientError) as caught:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    with pytest.raises(ClientError, match="at most 8192"):
        kms.create_key(Description="d" * 8193)
    kms.create_key(Description="d" * 8192)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
