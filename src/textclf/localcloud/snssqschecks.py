"""SNS topic and SQS queue attributes: a Policy that is not a JSON policy, or an SNS attribute name
SNS does not have, is refused as AWS refuses it, never an HTML 500 (issue 27, R14B-41). The project's
alarm topic policy (terraform/monitoring.tf) and dead-letter queue policy (terraform/events.tf) are
set through these calls on every local apply.

- SNS CreateTopic / SetTopicAttributes: InvalidParameter, "Invalid parameter: Policy Error: ...";
  AttributeName is one of SNS's (SetTopicAttributes API reference, AttributeName,
  https://docs.aws.amazon.com/sns/latest/api/API_SetTopicAttributes.html).
- SQS CreateQueue / SetQueueAttributes: InvalidAttributeValue, "Invalid value for the parameter
  Policy." (SetQueueAttributes API reference, Errors,
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
"""

from __future__ import annotations

import json
import sys
from typing import Any

SNS_ATTRIBUTES = frozenset(
    {
        "Policy", "DisplayName", "DeliveryPolicy", "KmsMasterKeyId", "SignatureVersion", "TracingConfig",
        "ContentBasedDeduplication", "ArchivePolicy", "FifoThroughputScope", "DataProtectionPolicy",
    }
    | {
        f"{protocol}{outcome}"
        for protocol in ("Application", "HTTP", "Lambda", "Firehose", "SQS")
        for outcome in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")
    }
)  # fmt: skip


def policy_problem(value: Any) -> str | None:
    try:
        document = json.loads(str(value))
    except (ValueError, RecursionError) as error:
        return f"the policy is not JSON ({str(error)[:100]})"
    if not isinstance(document, dict) or "Statement" not in document:
        return "the policy is not a JSON object with a Statement"
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    for statement in statements:
        if not isinstance(statement, dict):
            return f"a statement is not an object: {json.dumps(statement)[:100]}"
        principal = statement.get("Principal", statement.get("NotPrincipal"))
        if principal is not None:
            from textclf.localcloud.s3policies import MalformedBucketPolicy, check_principal

            try:  # the principal forms of every resource policy, roles and users that exist (R14B-44)
                check_principal(principal)
            except MalformedBucketPolicy as error:
                return str(error)
    return None


def _sns_error(message: str) -> Exception:
    from moto.sns.exceptions import InvalidParameterValue

    print(f"[local cloud] REFUSED (SNS InvalidParameter): {message}", file=sys.stderr)
    return InvalidParameterValue(message)


def _sqs_error(name: str, problem: str) -> Exception:
    from moto.sqs.exceptions import InvalidAttributeValue

    print(f"[local cloud] REFUSED (SQS InvalidAttributeValue): {name}: {problem}", file=sys.stderr)
    return InvalidAttributeValue(name)


def _check_sns(attributes: dict[str, Any] | None, names_checked: bool) -> None:
    """`attributes` by SNS's names or as moto's SetTopicAttributes passes them (snake_case)."""
    from moto.core.utils import camelcase_to_underscores

    known = SNS_ATTRIBUTES | {camelcase_to_underscores(name) for name in SNS_ATTRIBUTES}
    for name, value in (attributes or {}).items():
        if names_checked and name not in known:
            raise _sns_error(
                f"Invalid parameter: AttributeName: {str(name)[:100]} is not an SNS topic attribute"
            )
        if name in ("Policy", "policy"):
            problem = policy_problem(value)
            if problem:
                raise _sns_error(f"Invalid parameter: Policy Error: {problem}")


def _check_sqs(attributes: dict[str, Any] | None) -> None:
    problem = policy_problem(attributes["Policy"]) if (attributes or {}).get("Policy") else None
    if problem:
        raise _sqs_error("Policy", problem)


def install() -> None:
    from moto.sns.models import SNSBackend
    from moto.sqs.models import SQSBackend

    create_topic = SNSBackend.create_topic

    def checked_create_topic(self: Any, name: str, attributes: Any = None, *args: Any, **kwargs: Any) -> Any:
        _check_sns(attributes, names_checked=False)
        return create_topic(self, name, attributes, *args, **kwargs)

    set_topic_attribute = SNSBackend.set_topic_attribute

    def checked_set_topic_attribute(
        self: Any, topic_arn: str, attribute_name: str, attribute_value: str
    ) -> None:
        self.get_topic(topic_arn)  # NotFound first
        _check_sns({attribute_name: attribute_value}, names_checked=True)
        return set_topic_attribute(self, topic_arn, attribute_name, attribute_value)

    create_queue = SQSBackend.create_queue

    def checked_create_queue(self: Any, name: str, tags: Any = None, **kwargs: Any) -> Any:
        _check_sqs(kwargs)
        return create_queue(self, name, tags, **kwargs)

    set_queue_attributes = SQSBackend.set_queue_attributes

    def checked_set_queue_attributes(self: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
        _check_sqs(attributes)
        return set_queue_attributes(self, queue_name, attributes)

    SNSBackend.create_topic = checked_create_topic
    SNSBackend.set_topic_attribute = checked_set_topic_attribute
    SQSBackend.create_queue = checked_create_queue
    SQSBackend.set_queue_attributes = checked_set_queue_attributes
