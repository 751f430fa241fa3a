"""SNS and SQS refuse a Policy that is not a JSON policy and SNS an attribute it does not have, as AWS
does, instead of an HTML 500 or storing it (R14B-41)."""

from __future__ import annotations

import json

import boto3

from tests.infra.test_localcloud_policy_checks import refused

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": "*",
            }
        ],
    }
)


def test_sns_refuses_a_policy_that_is_not_json_and_unknown_attributes(aws_env):
    sns = boto3.client("sns")
    arn = sns.create_topic(Name="tp")["TopicArn"]
    message = refused(
        lambda: sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue="not json"),
        "InvalidParameter",
        400,
    )
    assert "Policy Error" in message
    refused(
        lambda: sns.set_topic_attributes(TopicArn=arn, AttributeName="Bogus", AttributeValue="x"),
        "InvalidParameter",
        400,
    )
    refused(lambda: sns.create_topic(Name="tp2", Attributes={"Policy": "not json"}), "InvalidParameter", 400)
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=POLICY)
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="alarms")
    assert json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]) == json.loads(POLICY)


def test_sqs_refuses_a_policy_that_is_not_json(aws_env):
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="q1")["QueueUrl"]
    refused(
        lambda: sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": "not json"}),
        "InvalidAttributeValue",
        400,
    )
    refused(
        lambda: sqs.create_queue(QueueName="q2", Attributes={"Policy": "not json"}),
        "InvalidAttributeValue",
        400,
    )
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": POLICY})


GHOST = "arn:aws:iam::123456789012:role/does-not-exist"


def test_sns_and_sqs_policies_with_a_string_statement_or_a_missing_principal_are_refused(aws_env):
    """R14B-44: the statements and principals are checked as bucket, key and trust policies are."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="tp")["TopicArn"]
    queue = sqs.create_queue(QueueName="q1")["QueueUrl"]
    ghost = {"Effect": "Allow", "Principal": {"AWS": GHOST}, "Action": "sns:Publish", "Resource": arn}
    for statement in ("x", ghost):
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        refused(
            lambda document=document: sns.set_topic_attributes(
                TopicArn=arn, AttributeName="Policy", AttributeValue=document
            ),
            "InvalidParameter",
            400,
        )
        refused(
            lambda document=document: sqs.set_queue_attributes(
                QueueUrl=queue, Attributes={"Policy": document}
            ),
            "InvalidAttributeValue",
            400,
        )
