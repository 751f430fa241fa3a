"""DynamoDB in the local cloud answers an expression it cannot parse with ValidationException, HTTP 400,
as DynamoDB does, and writes nothing; it answered an HTML 500 with moto's parser stack (R14B-17)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

KEY = {"k": {"S": "e"}}


@pytest.fixture
def ddb(aws_env):
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="tbl",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def invalid(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationException",
        400,
    )
    return error["Error"]["Message"]


@pytest.mark.parametrize(
    ("condition", "says"),
    [
        ("attribute_not_exists(", "Invalid ConditionExpression: Syntax error"),
        ("attribute_not_exists(k) AND", "Invalid ConditionExpression: Syntax error"),
        ("((((", "Invalid ConditionExpression: Syntax error"),
        ("k = :v", "attribute value: :v"),
        ("#x = :v", "attribute name: #x"),
    ],
)
def test_a_condition_expression_that_does_not_parse_is_a_validation_error(ddb, condition, says):
    assert says in invalid(lambda: ddb.put_item(TableName="tbl", Item=KEY, ConditionExpression=condition))
    assert "Item" not in ddb.get_item(TableName="tbl", Key=KEY)
    ddb.put_item(TableName="tbl", Item=KEY)
    invalid(lambda: ddb.delete_item(TableName="tbl", Key=KEY, ConditionExpression=condition))
    invalid(
        lambda: ddb.update_item(
            TableName="tbl",
            Key=KEY,
            UpdateExpression="SET a = :a",
            ConditionExpression=condition,
            ExpressionAttributeValues={":a": {"S": "x"}},
        )
    )
    assert ddb.get_item(TableName="tbl", Key=KEY)["Item"] == KEY


def test_a_filter_or_projection_that_does_not_parse_is_a_validation_error(ddb):
    assert "Invalid FilterExpression" in invalid(
        lambda: ddb.scan(TableName="tbl", FilterExpression="attribute_exists(")
    )
    assert "Invalid ProjectionExpression" in invalid(
        lambda: ddb.get_item(TableName="tbl", Key=KEY, ProjectionExpression="a,,b")
    )


def test_the_redeploy_locks_conditional_write_still_works(ddb):
    ddb.put_item(TableName="tbl", Item=KEY, ConditionExpression="attribute_not_exists(k)")
    with pytest.raises(ClientError) as caught:
        ddb.put_item(TableName="tbl", Item=KEY, ConditionExpression="attribute_not_exists(k)")
    assert caught.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_an_update_naming_an_undefined_name_is_a_validation_error(ddb):
    ddb.put_item(TableName="tbl", Item=KEY)
    message = invalid(
        lambda: ddb.update_item(
            TableName="tbl",
            Key=KEY,
            UpdateExpression="SET #x = :v",
            ExpressionAttributeValues={":v": {"S": "x"}},
        )
    )
    assert "Invalid UpdateExpression" in message and "#x" in message
    assert ddb.get_item(TableName="tbl", Key=KEY)["Item"] == KEY


def test_a_key_of_the_wrong_type_or_shape_does_not_match_the_schema(ddb):
    for key in ({"k": {"N": "1"}}, {"k": {"S": "e"}, "other": {"S": "x"}}, {"other": {"S": "x"}}):
        assert "does not match the schema" in invalid(lambda key=key: ddb.get_item(TableName="tbl", Key=key))
        invalid(lambda key=key: ddb.delete_item(TableName="tbl", Key=key))
