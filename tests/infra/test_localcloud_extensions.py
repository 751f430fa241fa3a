"""The local cloud returns what Terraform sets (src/textclf/localcloud/infra.py), over HTTP with
boto3, so that a plan after an apply shows no changes and a destroy completes."""

from __future__ import annotations

import functools
import io
import json
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_lambda_dead_letter_config_is_returned_and_updated(aws_env: dict[str, str]) -> None:
    role = boto3.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    topics = [boto3.client("sns").create_topic(Name=name)["TopicArn"] for name in ("dlq-a", "dlq-b")]
    client = boto3.client("lambda")
    client.create_function(
        FunctionName="fn",
        Runtime="python3.13",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": lambda_zip()},
        DeadLetterConfig={"TargetArn": topics[0]},
    )
    assert client.get_function_configuration(FunctionName="fn")["DeadLetterConfig"] == {
        "TargetArn": topics[0]
    }

    client.update_function_configuration(FunctionName="fn", DeadLetterConfig={"TargetArn": topics[1]})
    assert (
        client.get_function(FunctionName="fn")["Configuration"]["DeadLetterConfig"]["TargetArn"] == topics[1]
    )


def test_lambda_without_dead_letter_config_has_none(aws_env: dict[str, str]) -> None:
    role = boto3.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    client = boto3.client("lambda")
    client.create_function(
        FunctionName="plain", Runtime="python3.13", Role=role, Handler="h.h", Code={"ZipFile": lambda_zip()}
    )
    assert "DeadLetterConfig" not in client.get_function_configuration(FunctionName="plain")


def test_s3_eventbridge_notification_is_returned(aws_env: dict[str, str]) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="with-events")
    s3.create_bucket(Bucket="without-events")
    s3.put_bucket_notification_configuration(
        Bucket="with-events", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    assert s3.get_bucket_notification_configuration(Bucket="with-events")["EventBridgeConfiguration"] == {}
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="without-events")


@pytest.mark.parametrize("isolated", [True, False])
def test_sagemaker_model_network_isolation_is_returned(aws_env: dict[str, str], isolated: bool) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(
        ModelName="m",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1"},
        EnableNetworkIsolation=isolated,
    )
    assert sagemaker.describe_model(ModelName="m")["EnableNetworkIsolation"] is isolated


def test_model_package_group_is_deleted_only_when_empty(aws_env: dict[str, str]) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="empty")
    sagemaker.delete_model_package_group(ModelPackageGroupName="empty")
    with pytest.raises(ClientError, match="ValidationException"):
        sagemaker.describe_model_package_group(ModelPackageGroupName="empty")

    sagemaker.create_model_package_group(ModelPackageGroupName="used")
    sagemaker.create_model_package(
        ModelPackageGroupName="used",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    with pytest.raises(ClientError, match="ConflictException"):
        sagemaker.delete_model_package_group(ModelPackageGroupName="used")
    assert (
        sagemaker.describe_model_package_group(ModelPackageGroupName="used")["ModelPackageGroupName"]
        == "used"
    )


def client_as(role: str, service: str):
    """A boto3 client with the credentials Lambda would give a function running as `role`."""
    from textclf.localcloud import iam

    session = iam.service_session(role, "lambda.amazonaws.com", "probe")
    return boto3.client(
        service,
        aws_access_key_id=session["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=session["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=session["AWS_SESSION_TOKEN"],
    )


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(aws_env):
    """GetObject API reference: without s3:ListBucket, S3 answers 403 for a key that does not exist."""
    import json

    import boto3
    from botocore.exceptions import ClientError

    from tests.roles import create_role

    boto3.client("s3").create_bucket(Bucket="some-bucket")
    read_only = create_role(
        "reads-objects",
        "lambda.amazonaws.com",
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::some-bucket/*"}],
    )
    s3 = client_as(read_only, "s3")
    with pytest.raises(ClientError, match=r"AccessDenied.*s3:ListBucket"):
        s3.get_object(Bucket="some-bucket", Key="missing")
    listing = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::some-bucket"}
    boto3.client("iam").put_role_policy(
        RoleName="reads-objects",
        PolicyName="list",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [listing]}),
    )
    with pytest.raises(ClientError, match="NoSuchKey"):
        s3.get_object(Bucket="some-bucket", Key="missing")


def test_a_refusal_comes_back_in_the_protocol_the_client_spoke(aws_env):
    """CloudWatch and SQS take query and JSON requests; boto3 and Terraform send JSON, so a refusal
    in XML reached them as an unreadable 403 ('UnknownError' in Terraform). Now the code and the
    message, naming the action and the resource, arrive."""
    import os

    iam = boto3.client("iam")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    credentials = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    queue = f"{os.environ['AWS_ENDPOINT_URL']}/123456789012/q"
    calls = {
        "cloudwatch": lambda client: client.get_dashboard(DashboardName="textclf-prod"),
        "sqs": lambda client: client.get_queue_attributes(QueueUrl=queue),
    }
    for service, call in calls.items():
        with pytest.raises(ClientError) as caught:
            call(boto3.client(service, **credentials))
        error = caught.value.response["Error"]
        assert error["Code"] == "AccessDeniedException", error
        assert f"is not authorized to perform: {service}:" in error["Message"]


def test_an_alias_needs_the_permission_on_the_alias_and_on_its_key(aws_env):
    """KMS, "Controlling access to aliases": CreateAlias is authorized on the alias (IAM policy) and
    on the key it points at; the release role's first apply creates the project key's alias."""
    from tests.roles import create_role

    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    alias_arn = "arn:aws:kms:us-east-1:123456789012:alias/project"
    on_alias = {"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": alias_arn}
    role = create_role("names-keys", "lambda.amazonaws.com", [on_alias])
    kms = client_as(role, "kms")
    with pytest.raises(ClientError, match=f"kms:CreateAlias on resource: {key}"):
        kms.create_alias(AliasName="alias/project", TargetKeyId=key)
    on_key = {"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": key}
    boto3.client("iam").put_role_policy(
        RoleName="names-keys",
        PolicyName="key",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [on_key]}),
    )
    kms.create_alias(AliasName="alias/project", TargetKeyId=key)
    assert boto3.client("kms").describe_key(KeyId="alias/project")["KeyMetadata"]["Arn"] == key


def test_iam_condition_keys_are_on_the_requests_that_carry_them(aws_env):
    """Service Authorization Reference for IAM (list_awsidentityandaccessmanagementiam): the role
    calls that change its policies, trust or boundary carry iam:PermissionsBoundary (the role's
    boundary), tagging does not, so a condition on it refuses TagRole as on AWS; AttachRolePolicy
    carries iam:PolicyARN, so a policy can name which managed policies may be attached."""
    from tests.roles import create_role

    iam = boto3.client("iam")
    anything = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    boundary = iam.create_policy(PolicyName="textclf-prod-boundary", PolicyDocument=anything)["Policy"]["Arn"]
    own = iam.create_policy(PolicyName="textclf-prod-extra", PolicyDocument=anything)["Policy"]["Arn"]
    foreign = iam.create_policy(PolicyName="someone-admin", PolicyDocument=anything)["Policy"]["Arn"]
    iam.create_role(
        RoleName="textclf-prod-target", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary
    )
    target = "arn:aws:iam::123456789012:role/textclf-prod-target"
    within = {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    statements = [
        {
            "Effect": "Allow",
            "Action": ["iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:TagRole"],
            "Resource": target,
            "Condition": within,
        },
        {
            "Effect": "Allow",
            "Action": "iam:AttachRolePolicy",
            "Resource": target,
            "Condition": within
            | {"ArnLike": {"iam:PolicyARN": "arn:aws:iam::123456789012:policy/textclf-prod-*"}},
        },
    ]
    probe = client_as(create_role("iam-probe", "lambda.amazonaws.com", statements), "iam")
    probe.put_role_policy(RoleName="textclf-prod-target", PolicyName="p", PolicyDocument=anything)
    probe.update_assume_role_policy(RoleName="textclf-prod-target", PolicyDocument=TRUST)
    with pytest.raises(ClientError, match="iam:TagRole on resource"):
        probe.tag_role(RoleName="textclf-prod-target", Tags=[{"Key": "k", "Value": "v"}])
    probe.attach_role_policy(RoleName="textclf-prod-target", PolicyArn=own)
    with pytest.raises(ClientError, match="iam:AttachRolePolicy on resource"):
        probe.attach_role_policy(RoleName="textclf-prod-target", PolicyArn=foreign)
    attached = iam.list_attached_role_policies(RoleName="textclf-prod-target")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [own]


REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-serving"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": f"{REGISTRY}:x y"}, "Container.image contains invalid characters."),
        ({"image": f"{REGISTRY}:a:b@c"}, "Container.image contains invalid characters."),
        ({"image": f"{REGISTRY}@sha256:{'g' * 64}"}, "Container.image contains invalid characters."),
        ({"image": f"{REGISTRY}:{'t' * 300}"}, "Container.image should be 255 characters or less"),
        ({"name": "serve me"}, "Container.name contains invalid characters."),
        ({"family": "textclf serving"}, "Family contains invalid characters."),
    ],
)
def test_a_task_definition_ecs_refuses_by_its_names_is_refused(aws_env, change, message):
    """R13B-11: RegisterTaskDefinition refuses an image (or family, container name) outside ECS's
    rules, as ECS does; moto registered `repo:x y` and the roll moved the service to it."""
    ecs = boto3.client("ecs")
    container = {"name": "serve", "image": f"{REGISTRY}:abc1234", "memory": 512}
    container.update({k: v for k, v in change.items() if k != "family"})
    with pytest.raises(ClientError) as caught:
        ecs.register_task_definition(family=change.get("family", "serving"), containerDefinitions=[container])
    assert caught.value.response["Error"]["Code"] == "ClientException"
    assert caught.value.response["Error"]["Message"] == message
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []


@pytest.mark.parametrize(
    "image", [f"{REGISTRY}:abc1234", f"{REGISTRY}@sha256:{'a' * 64}", "ubuntu", "quay.io/x/y:1#2"]
)
def test_a_task_definition_within_ecs_rules_is_registered(aws_env, image):
    ecs = boto3.client("ecs")
    ecs.register_task_definition(
        family="serving", containerDefinitions=[{"name": "serve", "image": image, "memory": 512}]
    )
    assert len(ecs.list_task_definitions()["taskDefinitionArns"]) == 1


def echo_function(name: str) -> str:
    """A function that returns its event; its ARN."""
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=TRUST)
    code = {"ZipFile": lambda_zip()}
    created = boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="handler.handler",
        Code=code,
    )
    return created["FunctionArn"]


def test_a_function_arn_of_another_account_or_region_does_not_reach_the_local_function(aws_env):
    """R13B-22: functions were looked up by name only, so `promote --function` with another account's
    ARN ran this account's redeploy function; AWS refuses another account's function unless its
    policy grants the call, and a Region's endpoint serves that Region's functions."""
    client = boto3.client("lambda")
    local = echo_function("redeploy")
    foreign_account = local.replace(":123456789012:", ":999999999999:")
    foreign_region = local.replace(":us-east-1:", ":eu-west-1:")
    invoke = functools.partial(client.invoke, InvocationType="Event", Payload=b"{}")  # as promote calls it
    for call in (client.get_function_configuration, invoke):
        with pytest.raises(ClientError) as caught:
            call(FunctionName=foreign_account)
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "account 999999999999" in caught.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as caught:
            call(FunctionName=foreign_region)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert client.get_function_configuration(FunctionName=local)["FunctionArn"] == local
    assert invoke(FunctionName=local)["StatusCode"] == 202


def test_a_post_without_a_body_is_checked_over_an_empty_payload(aws_env):
    """R13D-1: Lambda's Invoke without a Payload (a POST with an empty body) was refused as
    SignatureDoesNotMatch: the signature was checked over moto's parsed parameters, not over the
    empty payload the client signed. AWS takes it (Payload is optional)."""
    echo_function("fn")
    assert boto3.client("lambda").invoke(FunctionName="fn", InvocationType="Event")["StatusCode"] == 202


def test_a_partial_function_arn_is_resolved_as_lambda_resolves_it(aws_env):
    """R13B-26: FunctionName takes a partial ARN (123456789012:function:name); moto answered it
    with a 500 and its stack. Another account's partial ARN is refused as its full ARN is."""
    local = echo_function("redeploy")
    client = boto3.client("lambda")
    assert (
        client.get_function_configuration(FunctionName="123456789012:function:redeploy")["FunctionArn"]
        == local
    )
    answer = client.invoke(FunctionName="123456789012:function:redeploy", Payload=b'{"a": 1}')
    assert json.loads(answer["Payload"].read()) == {"a": 1}
    with pytest.raises(ClientError) as caught:
        client.get_function_configuration(FunctionName="999999999999:function:redeploy")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:
        client.get_function_configuration(FunctionName="123456789012:function:missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("arn:aws:iam::999999999999:role/elsewhere", "AccessDeniedException"),
        ("arn:aws:iam::123456789012:role/missing", "InvalidParameterValueException"),
    ],
)
def test_a_function_cannot_be_pointed_at_a_role_lambda_cannot_assume(aws_env, role, code):
    """R13B-26's neighbour: UpdateFunctionConfiguration took any Role (CreateFunction checks it)."""
    echo_function("fn")
    client = boto3.client("lambda")
    with pytest.raises(ClientError) as caught:
        client.update_function_configuration(FunctionName="fn", Role=role)
    assert caught.value.response["Error"]["Code"] == code
    assert client.get_function_configuration(FunctionName="fn")["Role"].endswith(":role/fn-role")
