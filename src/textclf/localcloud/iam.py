"""IAM enforced in the local cloud: every request is authorized as the principal that signed it.

moto's own access control checks actions but evaluates resources only for S3, ignores most
conditions, resource policies and permissions boundaries, and lets anyone assume a role with a web
identity token. This module replaces its hook (`ActionAuthenticatorMixin`) for every service:

- The caller is the IAM user or assumed-role session whose access key signed the request (moto
  checks the SigV4 signature). An unsigned or unknown caller is refused.
- The resource is the ARN AWS authorizes the action on (`_resource_for`), with the condition keys
  the project's policies use (`_context_for`); `policy.authorize` evaluates identity policies, the
  role's permissions boundary and the resource policy (S3 bucket policies, KMS key policies).
- Calls that pass a role (`iam:PassRole` with `iam:PassedToService`) and S3 objects encrypted with
  a KMS key (`kms:GenerateDataKey` to write, `kms:Decrypt` to read) are authorized as AWS does.
- `sts:AssumeRoleWithWebIdentity` checks the token's signature (textclf.localcloud.oidc), its
  issuer against the account's OIDC providers and the role's trust policy against its claims;
  `DurationSeconds` (of AssumeRole too) is 900 s to the role's maximum session, one hour when a
  role's session assumes a role. The sessions expire after it, on the local cloud's clock
  (textclf.localcloud.clock): a call signed with an expired session is refused (ExpiredToken).
- Object writes carry the S3 condition keys of the operation they are (`_s3_write_context`):
  s3:ObjectCreationOperation, If-None-Match / If-Match only where S3 accepts them, the copy source;
  a copy reads its source as the caller.
- An action this module has no resource rule for is refused with a message saying so: a local
  double that guessed "allowed" would hide a permission that real AWS refuses.

The administrator (`ADMIN_*`, an IAM user with `*:*`) stands for the person who bootstraps a new
account and applies Terraform; every other step runs as the role it has in production
(`textclf.localcloud.principals`). The local cloud starts with enforcement on.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from textclf.localcloud import clock, oidc
from textclf.localcloud.policy import (
    MalformedStoredPolicy,
    Request,
    UnknownConditionKey,
    Verdict,
    action_matches,
    authorize,
    resource_matches,
)

ACCOUNT = "123456789012"  # moto's default account
PARTITION = "aws"
ADMIN_USER = "localcloud-admin"
ADMIN_KEY_ID = "AKIALOCALCLOUDADMIN1"  # AKIA: an IAM user's long-term key, as moto expects
ADMIN_SECRET = "local-cloud-administrator-secret-key"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
GITHUB_ISSUER = "token.actions.githubusercontent.com"

# The signing name of a service, when it differs from its IAM action prefix.
IAM_PREFIX = {"monitoring": "cloudwatch", "runtime.sagemaker": "sagemaker"}
# Operation names whose IAM action has another name (service authorization reference).
ACTION_NAMES = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeAsync": "lambda:InvokeFunction",
    "lambda:GetFunctionConfiguration": "lambda:GetFunctionConfiguration",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:ListBucketMultipartUploads": "s3:ListBucketMultipartUploads",
    "ecr:BatchGetImage": "ecr:BatchGetImage",
}
# Global condition keys every request carries here (aws:SecureTransport: the local cloud is HTTP).
GLOBAL_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:SecureTransport",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:RequestedRegion",
        "aws:userid",
        "aws:username",
    )
)


@dataclass
class _State:
    enforcing: bool = True


STATE = _State()


class LocalCloudAccessDenied(Exception):
    """Raised by in-process checks (`check`) for what a role of the local cloud may not do."""


# --- the administrator ---------------------------------------------------------------------


def admin_env() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": ADMIN_KEY_ID, "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET}


def bootstrap_admin() -> None:
    """The account's administrator with fixed keys (again after every reset)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT][PARTITION]
    if ADMIN_USER in backend.users:
        return
    backend.create_user("us-east-1", ADMIN_USER)
    backend.put_user_policy(ADMIN_USER, "administrator", json.dumps(ADMIN_POLICY))
    key = backend.create_access_key(ADMIN_USER)
    key.access_key_id, key.secret_access_key = ADMIN_KEY_ID, ADMIN_SECRET


# --- policies of a principal ------------------------------------------------------------------


def _iam():
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT][PARTITION]


def _document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    text = urllib.parse.unquote(raw) if isinstance(raw, str) and raw.startswith("%7B") else raw
    return json.loads(text)


def _managed(arn: str) -> dict[str, Any]:
    return _policy_document(_iam().get_policy(arn))


def _policy_document(policy: Any) -> dict[str, Any]:
    """The default version's document of a managed policy."""
    (version,) = [v for v in policy.versions if v.version_id == policy.default_version_id]
    return _document(version.document)


# A permissions boundary naming a policy that does not exist (iamlimits refuses one at CreateRole and
# Put*PermissionsBoundary; IAM refuses to delete a policy in use as a boundary) allows nothing: the
# principal's requests are refused, never an HTTP 500 (issue 27, R14B-45).
ALLOWS_NOTHING: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}


def _boundary(arn: str | None) -> dict[str, Any] | None:
    if not arn:
        return None
    try:
        return _managed(arn)
    except Exception:  # moto's NoSuchEntity: no such policy
        return ALLOWS_NOTHING


def role_policies(role_name: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(identity policies, permissions boundary or None) of a role."""
    role = _iam().get_role(role_name)
    identity = [_document(doc) for doc in role.policies.values()]
    identity += [_policy_document(p) for p in role.managed_policies.values()]
    return identity, _boundary(role.permissions_boundary_arn)


def user_policies(user_name: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    user = _iam().get_user(user_name)
    identity = [_document(doc) for doc in user.policies.values()]
    identity += [_policy_document(p) for p in user.managed_policies.values()]
    return identity, _boundary(getattr(user, "permissions_boundary", None))


def principal_policies(principal: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    kind, _, rest = principal.split(":", 5)[5].partition("/")
    if kind == "assumed-role":
        return role_policies(rest.split("/")[0])
    if kind == "user":
        return user_policies(rest.rsplit("/", 1)[-1])
    raise LocalCloudAccessDenied(f"{principal}: not a principal the local cloud knows")


def role_arn(name: str) -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"


# --- what a request is authorized on ------------------------------------------------------------


def _arn(service: str, region: str, rest: str, global_service: bool = False) -> str:
    return f"arn:{PARTITION}:{service}:{'' if global_service else region}:{ACCOUNT}:{rest}"


def _sagemaker_name(params: dict[str, Any], key: str) -> str:
    # SageMaker ARNs carry resource names in lower case.
    return str(params.get(key, "")).lower()


SAGEMAKER_RESOURCES = {
    "TrainingJob": ("training-job", "TrainingJobName"),
    "Model": ("model", "ModelName"),
    "EndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "Endpoint": ("endpoint", "EndpointName"),
    "ModelPackageGroup": ("model-package-group", "ModelPackageGroupName"),
    "TransformJob": ("transform-job", "TransformJobName"),
}
# Actions AWS authorizes on "*" (no resource type in the service authorization reference).
UNSCOPED = {
    "sagemaker": {
        "ListEndpointConfigs",
        "ListModels",
        "ListEndpoints",
        "ListTrainingJobs",
        "ListModelPackages",
    },
    "sts": {"GetCallerIdentity"},
    "ecr": {"GetAuthorizationToken"},
    "cloudwatch": {"PutMetricData", "ListDashboards", "DescribeAlarms", "GetMetricData", "ListMetrics"},
    "logs": {"DescribeLogGroups", "DescribeResourcePolicies", "PutResourcePolicy", "DeleteResourcePolicy"},
    "kms": {"CreateKey", "ListAliases", "ListKeys"},
    "iam": {"ListOpenIDConnectProviders", "ListRoles", "ListPolicies"},
    "lambda": {"ListFunctions", "ListEventSourceMappings"},
    "sns": {"ListTopics"},
    "events": {"ListRules", "ListConnections", "ListApiDestinations"},
    "dynamodb": {"ListTables"},
}


def _sagemaker_resource(operation: str, params: dict[str, Any], region: str) -> str | None:
    if operation in ("AddTags", "ListTags", "DeleteTags"):
        return str(params.get("ResourceArn", ""))
    if operation in ("DescribeModelPackage", "UpdateModelPackage", "DeleteModelPackage"):
        name = str(params.get("ModelPackageName", ""))
        return name if name.startswith("arn:") else _arn("sagemaker", region, f"model-package/{name.lower()}")
    if operation == "CreateModelPackage":
        group = _sagemaker_name(params, "ModelPackageGroupName")
        return _arn("sagemaker", region, f"model-package/{group}/*")
    for noun, (kind, key) in SAGEMAKER_RESOURCES.items():
        if operation.endswith(noun) and key in params:
            return _arn("sagemaker", region, f"{kind}/{_sagemaker_name(params, key)}")
    return None


def _logs_resource(operation: str, params: dict[str, Any], region: str) -> str | None:
    if params.get("resourceArn"):  # the tagging API of 2022 names the group's ARN (no ":*")
        return str(params["resourceArn"]).removesuffix(":*")
    group = params.get("logGroupName") or params.get("logGroupIdentifier")
    if not group:
        return None
    group = str(group).split(":log-group:")[-1].removesuffix(":*")
    if operation in ("PutLogEvents", "GetLogEvents") and params.get("logStreamName"):
        return _arn("logs", region, f"log-group:{group}:log-stream:{params['logStreamName']}")
    # Log-group actions are authorized on the group ARN with a trailing ":*", except tagging
    # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html).
    if operation in (
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
        "TagLogGroup",
        "ListTagsLogGroup",
    ):
        return _arn("logs", region, f"log-group:{group}")
    return _arn("logs", region, f"log-group:{group}:*")


PARTIAL_FUNCTION_ARN = re.compile(r"[0-9]{12}:function:[^:]+(:[^:]+)?")


def _resource_for(prefix: str, operation: str, params: dict[str, Any], path: str, region: str) -> str | None:
    """The ARN `prefix:operation` is authorized on, "*" for unscoped actions, None if unknown."""
    if operation in UNSCOPED.get(prefix, ()):
        return "*"
    if prefix == "sagemaker" and operation.startswith("InvokeEndpoint") and "/endpoints/" in path:
        name = urllib.parse.unquote(path.split("/endpoints/")[1].split("/")[0]).lower()
        return _arn("sagemaker", region, f"endpoint/{name}")  # runtime: the name is in the path
    if prefix == "sagemaker":
        return _sagemaker_resource(operation, params, region)
    if prefix == "lambda":
        name = (
            urllib.parse.unquote(path.split("/functions/")[1].split("/")[0]) if "/functions/" in path else ""
        )
        name = name or str(params.get("FunctionName", ""))
        if not name:
            return None
        if PARTIAL_FUNCTION_ARN.fullmatch(name):  # 123456789012:function:name (lambdas.full_function_arn)
            account, rest = name.split(":", 1)
            return f"arn:{PARTITION}:lambda:{region}:{account}:{rest}"
        return name if name.startswith("arn:") else _arn("lambda", region, f"function:{name}")
    if prefix == "logs":
        return _logs_resource(operation, params, region)
    if prefix == "dynamodb" and params.get("TableName"):
        return _arn("dynamodb", region, f"table/{params['TableName']}")
    if prefix == "dynamodb" and params.get("ResourceArn"):  # ListTagsOfResource, TagResource
        return str(params["ResourceArn"])
    if prefix == "ecr" and (params.get("repositoryName") or params.get("repositoryNames")):
        name = params.get("repositoryName") or _first(params.get("repositoryNames"))
        return _arn("ecr", region, f"repository/{name}")
    if prefix == "ecr" and params.get("resourceArn"):  # ListTagsForResource, TagResource
        return str(params["resourceArn"])
    if prefix == "sqs" and (params.get("QueueUrl") or params.get("QueueName")):
        name = str(params.get("QueueName") or str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1])
        return _arn("sqs", region, name)
    if prefix == "kms" and params.get("AliasName"):  # CreateAlias, UpdateAlias, DeleteAlias
        return _arn("kms", region, str(params["AliasName"]))
    if prefix == "kms" and params.get("KeyId"):
        return kms_key_arn(str(params["KeyId"]), region)
    if prefix == "sns":
        arn = params.get("TopicArn") or params.get("TargetArn") or params.get("ResourceArn")
        return str(arn) if arn else None
    if prefix == "events":
        if operation == "PutEvents":
            return _arn("events", region, "event-bus/default")
        if params.get("ResourceARN") or params.get("ResourceArn"):  # tagging names the ARN
            return str(params.get("ResourceARN") or params.get("ResourceArn"))
        name = params.get("Rule") or params.get("Name")
        return _arn("events", region, f"rule/{name}") if name else None
    if prefix == "cloudwatch" and (params.get("DashboardName") or params.get("DashboardNames")):
        name = params.get("DashboardName") or _first(params.get("DashboardNames"))
        return _arn("cloudwatch", "", f"dashboard/{name}", global_service=True)  # global: no region
    if prefix == "cloudwatch" and params.get("ResourceARN"):  # ListTagsForResource, TagResource
        return str(params["ResourceARN"])
    if prefix == "cloudwatch" and (params.get("AlarmNames") or params.get("AlarmName")):
        name = params.get("AlarmName") or _first(params.get("AlarmNames"))
        return _arn("cloudwatch", region, f"alarm:{name}")
    if prefix == "sts" and operation == "AssumeRole":
        return str(params.get("RoleArn", "")) or None
    if prefix == "iam":
        for key, kind in (("RoleName", "role"), ("UserName", "user")):
            if params.get(key):
                return f"arn:{PARTITION}:iam::{ACCOUNT}:{kind}/{params[key]}"
        for key in ("PolicyArn", "OpenIDConnectProviderArn"):
            if params.get(key):
                return str(params[key])
    if prefix == "secretsmanager" and params.get("SecretId"):
        return str(params["SecretId"])
    if prefix == "apigateway" and path.startswith("/v2/"):
        return apigateway_arn(region, path)
    return None


def apigateway_arn(region: str, path: str) -> str:
    """API Gateway's management API is authorized on the request's path (v2: /apis, /apis/ID/...,
    /tags/URL-ENCODED-ARN), in an ARN without the account: arn:aws:apigateway:REGION::/apis/ID
    (Service Authorization Reference, "Actions, resources, and condition keys for Amazon API Gateway
    Management V2", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagementv2.html)."""
    rest = path.split("?", 1)[0].removeprefix("/v2").rstrip("/")
    if rest.startswith("/tags/"):
        rest = "/tags/" + urllib.parse.quote(urllib.parse.unquote(rest.removeprefix("/tags/")), safe="")
    return f"arn:{PARTITION}:apigateway:{region}::{rest}"


def execute_api_arn(region: str, api_id: str, stage: str, method: str, path: str) -> str:
    """What `execute-api:Invoke` is authorized on: arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH
    ("Control access to HTTP APIs with IAM authorization",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html)."""
    return _arn("execute-api", region, f"{api_id}/{stage}/{method.upper()}/{path.lstrip('/')}")


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def kms_key_arn(key: str, region: str) -> str:
    """A key id, key ARN, alias name or alias ARN -> the key's ARN (what KMS authorizes on)."""
    from moto.kms.models import kms_backends

    backend = kms_backends[ACCOUNT][region]
    if key.startswith("arn:") and ":key/" in key:
        return key
    alias = key.split(":", 5)[-1] if key.startswith("arn:") else key
    if alias.startswith("alias/"):
        target = backend.get_key_id_from_alias(alias)
        if target:
            return _arn("kms", region, f"key/{target}")
    return _arn("kms", region, f"key/{key}")


def _context_for(prefix: str, operation: str, params: dict[str, Any]) -> dict[str, list[str]]:
    """Service condition keys the project's policies use, from the request's parameters."""
    context: dict[str, list[str]] = {}
    if prefix == "sagemaker" and operation == "CreateTrainingJob":
        resources = params.get("ResourceConfig") or {}
        stopping = params.get("StoppingCondition") or {}
        # "The list of all instance types associated with the resource in the request" (Service
        # Authorization Reference, list_amazonsagemaker): the job's type and its instance groups'.
        # A request that names none carries no key, and `ForAllValues` over a missing key is true
        # (IAM User Guide, "Single-valued vs. multivalued context keys"): a policy needs a `Null`
        # guard, and the local cloud must not invent a value that makes the condition false.
        types = [resources.get("InstanceType")] + [
            group.get("InstanceType")
            for group in resources.get("InstanceGroups") or []
            if isinstance(group, dict)
        ]
        if any(types):
            context["sagemaker:instancetypes"] = [str(t) for t in types if t]
        if "MaxRuntimeInSeconds" in stopping:
            context["sagemaker:maxruntimeinseconds"] = [str(stopping["MaxRuntimeInSeconds"])]
        context["sagemaker:networkisolation"] = [str(bool(params.get("EnableNetworkIsolation"))).lower()]
        # No image key: CreateTrainingJob has none (Service Authorization Reference,
        # list_amazonsagemaker), so a policy naming one would never match on AWS.
        # The KMS keys the request names, for the output and the ML storage volume
        # (sagemaker:OutputKmsKey, sagemaker:VolumeKmsKey: "The AWS KMS key ARN or alias ARN specified
        # in the request", both condition keys of CreateTrainingJob, Service Authorization Reference,
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html);
        # a request that names none carries no key.
        if (params.get("OutputDataConfig") or {}).get("KmsKeyId"):
            context["sagemaker:outputkmskey"] = [str(params["OutputDataConfig"]["KmsKeyId"])]
        if resources.get("VolumeKmsKeyId"):
            context["sagemaker:volumekmskey"] = [str(resources["VolumeKmsKeyId"])]
    if prefix == "sagemaker" and operation == "CreateModel":
        context["sagemaker:networkisolation"] = [str(bool(params.get("EnableNetworkIsolation"))).lower()]
    if prefix == "iam" and params.get("RoleName") and operation in BOUNDARY_KEY_ACTIONS:
        boundary = params.get("PermissionsBoundary") or _current_boundary(str(params["RoleName"]))
        if boundary:
            context["iam:permissionsboundary"] = [str(boundary)]
    if prefix == "iam" and operation in POLICY_ARN_KEY_ACTIONS and params.get("PolicyArn"):
        context["iam:policyarn"] = [str(params["PolicyArn"])]
    if prefix == "cloudwatch" and operation == "PutMetricData":
        context["cloudwatch:namespace"] = [str(params.get("Namespace", ""))]
    if prefix == "kms" and operation == "CreateGrant":
        context["kms:grantisforawsresource"] = ["false"]  # a person's call; services set it themselves
    tags = params.get("Tags")
    if isinstance(tags, list) and tags and isinstance(tags[0], dict):
        for tag in tags:
            key, value = tag.get("Key"), tag.get("Value")
            if key is not None:
                context[f"aws:requesttag/{str(key).lower()}"] = [str(value)]
        context["aws:tagkeys"] = [str(t.get("Key")) for t in tags]
    return context


# The role actions whose requests carry iam:PermissionsBoundary, and those that carry iam:PolicyARN
# (Service Authorization Reference, "Actions, resources, and condition keys for AWS Identity and
# Access Management", https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
# Tagging, PassRole, the reads other than GetRole and the OIDC provider calls carry neither: a
# condition on the key makes a plain operator false there, as on AWS.
BOUNDARY_KEY_ACTIONS = frozenset(
    {
        "CreateRole",
        "GetRole",
        "UpdateRole",
        "UpdateRoleDescription",
        "UpdateAssumeRolePolicy",
        "DeleteRole",
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
    }
)
POLICY_ARN_KEY_ACTIONS = frozenset(
    {"AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy"}
)


def _current_boundary(role_name: str) -> str | None:
    """iam:PermissionsBoundary on a call about an existing role: the boundary it carries."""
    try:
        return _iam().get_role(role_name).permissions_boundary_arn
    except Exception:  # no such role (CreateRole): the request names its own boundary, if any
        return None


SERVICE_KEYS = frozenset(
    {
        "iam:permissionsboundary",
        "iam:policyarn",
        "sagemaker:instancetypes",
        "sagemaker:maxruntimeinseconds",
        "sagemaker:networkisolation",
        "sagemaker:outputkmskey",
        "sagemaker:volumekmskey",
        "cloudwatch:namespace",
        "kms:grantisforawsresource",
        "kms:viaservice",
        "aws:tagkeys",
        "iam:passedtoservice",
        "s3:prefix",
        "s3:x-amz-server-side-encryption",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:if-none-match",
        "s3:if-match",
        "s3:objectcreationoperation",
        "s3:x-amz-copy-source",
        "aws:sourceaccount",
        "aws:sourcearn",
    }
)


def _global_context(principal: str, region: str) -> dict[str, list[str]]:
    now = clock.now()
    kind = "AssumedRole" if ":assumed-role/" in principal else "User"
    return {
        "aws:principalarn": [_principal_arn(principal)],
        "aws:principalaccount": [ACCOUNT],
        "aws:principaltype": [kind],
        "aws:securetransport": ["false"],  # the local cloud speaks plain HTTP on 127.0.0.1
        "aws:currenttime": [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))],
        "aws:epochtime": [str(int(now))],
        "aws:requestedregion": [region],
    }


def _principal_arn(principal: str) -> str:
    """A session's aws:PrincipalArn is its role's ARN (global condition keys reference)."""
    if ":assumed-role/" in principal:
        role = principal.split(":assumed-role/")[1].split("/")[0]
        return role_arn(role)
    return principal


# --- resource policies ------------------------------------------------------------------------


def _bucket_policy(bucket: str) -> dict[str, Any] | None:
    from moto.s3.models import s3_backends

    found = s3_backends[ACCOUNT][PARTITION].buckets.get(bucket)
    if found is None or not found.policy:
        return None
    raw = found.policy.decode() if isinstance(found.policy, bytes) else found.policy
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        document = raw  # PutBucketPolicy refuses such a policy (s3policies); decide() names it
    if not isinstance(document, dict):
        raise MalformedStoredPolicy(f"the bucket policy of s3://{bucket} is not a JSON object")
    return document


def _key_policy(key_arn: str, region: str) -> dict[str, Any] | None:
    from moto.kms.models import kms_backends

    key = kms_backends[ACCOUNT][region].keys.get(key_arn.rsplit("/", 1)[-1])
    return json.loads(key.policy) if key is not None and key.policy else None


def _kms_grant(request: Request, region: str) -> Verdict:
    """KMS: the key policy decides; a statement for the account root delegates to IAM policies
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)."""
    identity, boundary = principal_policies(request.principal)
    key_policy = _key_policy(request.resource, region)
    if key_policy is None:
        return authorize(request, ACCOUNT, identity, boundary)
    root = f"arn:{PARTITION}:iam::{ACCOUNT}:root"
    as_root = Request(root, request.action, "*", request.context, request.known_keys)
    delegated = authorize(as_root, ACCOUNT, [], None, key_policy, "key policy").allowed
    as_caller = Request(request.principal, request.action, "*", request.context, request.known_keys)
    # A key policy naming the caller's role is still limited by the role's permissions boundary
    # (policy.py: single-account evaluation); one naming the session itself is not.
    direct = authorize(as_caller, ACCOUNT, [], boundary, key_policy, "key policy")
    if not direct.allowed and "explicit deny" in direct.reason:
        return direct
    if direct.allowed:
        return direct
    if not delegated:
        return Verdict(
            False, f"because the key policy of {request.resource} allows neither the caller nor IAM"
        )
    return authorize(request, ACCOUNT, identity, boundary)


def decide(request: Request, region: str, bucket: str | None = None) -> Verdict:
    """The verdict for one request, with the resource policy of its bucket or key."""
    if request.action.startswith("kms:") and ":key/" in request.resource:
        return _kms_grant(request, region)
    identity, boundary = principal_policies(request.principal)
    try:
        policy = _bucket_policy(bucket) if bucket else None
        return authorize(request, ACCOUNT, identity, boundary, policy, "bucket policy")
    except MalformedStoredPolicy:
        # A stored bucket policy S3 would have refused (s3policies refuses it at PutBucketPolicy):
        # every other request on the bucket is refused naming it, but the policy itself can still be
        # read, replaced or deleted, as the account may always repair its bucket's policy.
        if request.action not in REPAIR_ACTIONS:
            raise
        return authorize(request, ACCOUNT, identity, boundary)


REPAIR_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})


def check(principal: str, action: str, resource: str, region: str = "us-east-1", **context: str) -> None:
    """In-process authorization for what the local cloud does as a role (a training job reading
    its channels, an endpoint reading its model): raises LocalCloudAccessDenied with AWS's words."""
    if not STATE.enforcing:
        return
    keys = {k.lower(): [v] for k, v in context.items()} | _global_context(principal, region)
    request = Request(principal, action, resource, keys, GLOBAL_KEYS | SERVICE_KEYS)
    bucket = resource.split(":::", 1)[1].split("/", 1)[0] if resource.startswith("arn:aws:s3:::") else None
    verdict = decide(request, region, bucket)
    if not verdict.allowed:
        raise LocalCloudAccessDenied(_denied_message(principal, action, resource, verdict))


def _denied_message(principal: str, action: str, resource: str, verdict: Verdict) -> str:
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} {verdict.reason}"
    )


# --- the hook into moto --------------------------------------------------------------------


def _json_params(response: Any) -> dict[str, Any]:
    """The request's parameters: the JSON body (JSON and REST-JSON protocols), else the query
    string with `Name.member.N` lists folded back into lists (query protocol)."""
    body = getattr(response, "body", None)
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body and body.lstrip().startswith("{"):
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                return parsed
        except ValueError:
            pass
    flat = {k: v[0] if isinstance(v, list) else v for k, v in (response.querystring or {}).items()}
    params: dict[str, Any] = {}
    for key, value in flat.items():
        if ".member." not in key:
            params[key] = value
    members: dict[str, dict[int, dict[str, str] | str]] = {}
    for key, value in flat.items():
        if ".member." in key:
            base, _, rest = key.partition(".member.")
            index, _, field_name = rest.partition(".")
            entry = members.setdefault(base, {})
            if field_name:
                entry.setdefault(int(index), {})[field_name] = value  # type: ignore[index]
            else:
                entry[int(index)] = value
    for base, entries in members.items():
        params[base] = [entries[i] for i in sorted(entries)]
    return params


def _credential_scope(headers: Any) -> tuple[str, str, str] | None:
    """(access key id, region, signing service) from a SigV4 Authorization header."""
    header = headers.get("Authorization") or ""
    if "Credential=" not in header:
        return None
    scope = header.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return scope[0], scope[2], scope[3]


def _deny(response: Any, s3: bool, code: str, message: str) -> None:
    """Raise the error the service's protocol uses, so botocore reports `code` and `message`."""
    from moto.core.exceptions import JsonRESTError, _RESTError
    from moto.core.responses import get_service_model

    if s3:
        from moto.s3.exceptions import S3AccessDeniedError

        denied = S3AccessDeniedError()
        denied.message = message
        raise denied
    # The protocol the request came in: services with several (CloudWatch, SQS: query and JSON)
    # answer in the one the client used, and a client cannot read an error in the other.
    content_type = str(response.headers.get("Content-Type") or "").lower()
    sent_json = content_type.startswith("application/x-amz-json")
    if sent_json or get_service_model(response.boto3_service_name).protocol in ("json", "rest-json"):
        error: _RESTError = JsonRESTError(code, message)
    else:
        error = _RESTError(code, message)
    error.code = (
        400
        if code in ("ValidationError", "InvalidIdentityToken", "RequestExpired", "MalformedPolicyDocument")
        else 403
    )
    if code == "ResourceNotFoundException":
        error.code = 404
    raise error


def _form_encoded(headers: Any) -> bool:
    """A query-protocol request (STS, IAM, ...): moto parsed its form body into `data`."""
    return "x-www-form-urlencoded" in str(headers.get("Content-Type") or "").lower()


def _caller(response: Any, iam_request_cls: type) -> tuple[str, str, str]:
    """(principal ARN, region, IAM prefix) after moto checked the key and the signature."""
    scope = _credential_scope(response.headers)
    if scope is None:
        _deny(
            response,
            iam_request_cls.__name__.startswith("S3"),
            "MissingAuthenticationToken",
            "Request is not signed",
        )
    _access_key, region, service = scope
    parsed = urllib.parse.urlparse(response.uri)
    path = response.raw_path + (f"?{parsed.query}" if parsed.query else "")
    moto_request = iam_request_cls(
        account_id=response.current_account,
        method=response.method,
        path=path,
        # A request without a body was signed over an empty payload; moto would hash its parsed
        # parameters instead (a GET of a REST API carries them in the path; a POST without a body,
        # Lambda's Invoke without a Payload, failed as SignatureDoesNotMatch).
        data=response.data if response.raw_body or _form_encoded(response.headers) else {},
        body=response.raw_body,
        headers=response.headers,
        action=response._get_action(),
    )
    moto_request.check_signature()
    _refuse_expired(response, _access_key, iam_request_cls.__name__.startswith("S3"))
    _refuse_stale(response, iam_request_cls.__name__.startswith("S3"))
    return moto_request._access_key.arn, region, IAM_PREFIX.get(service, service)


# --- session credentials expire ---------------------------------------------------------------

# When each session AssumeRole or AssumeRoleWithWebIdentity handed out expires, by access key id, on
# the local cloud's clock (textclf.localcloud.clock). "The temporary security credentials ... are
# valid for the duration that you specified in the DurationSeconds parameter" (STS API reference,
# AssumeRoleWithWebIdentity and AssumeRole,
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html); a call
# signed with them afterwards is refused: ExpiredTokenException, HTTP 403, "The security token
# included in the request is expired" (Common Errors of the AWS APIs,
# https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html), and S3's ExpiredToken,
# HTTP 400, "The provided token has expired" (S3 API reference, "Error responses",
# https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). Sessions the local cloud
# makes for a service (`service_session`) are not in it: AWS renews a service's role credentials.
SESSIONS: dict[str, float] = {}
# The session lengths STS allows: from 900 s to the role's MaxSessionDuration, and at most one hour
# for a role assumed with another role's session ("role chaining", IAM User Guide, "Methods to assume
# a role", https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html).
MIN_SESSION_SECONDS = 900
CHAINED_SESSION_SECONDS = 3600


def session_expired(access_key_id: str) -> bool:
    """Whether the session this access key belongs to is past its expiry (the local cloud's clock)."""
    expires = SESSIONS.get(access_key_id)
    return expires is not None and clock.now() >= expires


def _refuse_expired(response: Any, access_key_id: str, s3: bool) -> None:
    if not session_expired(access_key_id):
        return
    print(f"[local cloud] REFUSED a call signed with session {access_key_id}: expired", file=sys.stderr)
    if s3:
        from moto.s3.exceptions import S3ClientError

        expired = S3ClientError("ExpiredToken", "The provided token has expired.")
        expired.http_status_code = 400  # type: ignore[attr-defined]
        raise expired
    _deny(response, False, "ExpiredTokenException", "The security token included in the request is expired")


# A signed request's date: "RequestExpired: The request reached the service more than 15 minutes
# after the date stamp on the request ... or the date stamp on the request is more than 15 minutes
# in the future" (Common Errors of the AWS APIs, HTTP 400,
# https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html); S3: RequestTimeTooSkewed,
# HTTP 403, "The difference between the request time and the server's time is too large" (S3 API
# reference, "Error responses", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
# Without it a captured request could be replayed for ever, and a client with a wrong clock passed.
# Compared with real time: the clients sign with it (the local cloud's clock only runs ahead for
# sessions and policy time keys).
MAX_REQUEST_SKEW_SECONDS = 15 * 60


def request_time_problem(headers: Any, now: float | None = None) -> str | None:
    """Why a header-signed request's X-Amz-Date (or Date) is too far from now, or None."""
    import calendar
    from email.utils import parsedate_to_datetime

    stamp = headers.get("X-Amz-Date") or headers.get("x-amz-date")
    try:
        if stamp:
            signed = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        elif headers.get("Date"):
            signed = parsedate_to_datetime(headers["Date"]).timestamp()
        else:
            return "the request carries no X-Amz-Date or Date header"
    except (TypeError, ValueError, OverflowError):
        return f"the request's date {stamp or headers.get('Date')!r} is not a date"
    current = time.time() if now is None else now
    if abs(current - signed) <= MAX_REQUEST_SKEW_SECONDS:
        return None
    signed_at, now_at = (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t)) for t in (signed, current))
    if current > signed:
        return f"the request arrived more than 15 minutes after its date stamp {signed_at} (now {now_at})"
    return f"the request's date stamp {signed_at} is more than 15 minutes in the future (now {now_at})"


def _refuse_stale(response: Any, s3: bool) -> None:
    problem = request_time_problem(response.headers)
    if problem is None:
        return
    print(f"[local cloud] REFUSED a signed call: {problem}", file=sys.stderr)
    if s3:
        from moto.s3.exceptions import S3ClientError

        skewed = S3ClientError(
            "RequestTimeTooSkewed",
            f"The difference between the request time and the current time is too large: {problem}",
        )
        skewed.http_status_code = 403  # type: ignore[attr-defined]
        raise skewed
    _deny(response, False, "RequestExpired", f"Request has expired: {problem}")


def _session_length_problem(role: Any, requested: int, chained: bool) -> str | None:
    """Why STS refuses this DurationSeconds for `role`, or None (STS API reference, DurationSeconds)."""
    if requested < MIN_SESSION_SECONDS:
        return (
            f"1 validation error detected: Value '{requested}' at 'durationSeconds' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {MIN_SESSION_SECONDS}"
        )
    maximum = int(role.max_session_duration or 3600)
    if requested > maximum:
        return (
            f"The requested DurationSeconds exceeds the MaxSessionDuration set for this role ({maximum} s)."
        )
    if chained and requested > CHAINED_SESSION_SECONDS:
        return (
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
            "chaining."
        )
    return None


def _expiring_sessions(original):
    """STS's assume_role (AssumeRoleWithWebIdentity goes through it too), with the session's
    expiry on the local cloud's clock, in the answer's `Expiration` and in SESSIONS."""

    def assume_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        from datetime import timedelta

        assumed = original(self, *args, **kwargs)
        duration = int(kwargs.get("duration") or 3600)
        assumed.expiration += timedelta(seconds=clock.offset())
        SESSIONS[assumed.access_key_id] = clock.now() + duration
        return assumed

    return assume_role


UNSIGNED = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}


def _authorize_normal(self: Any, resource: str = "*") -> None:
    from moto.iam.access_control import IAMRequest

    if not STATE.enforcing:
        return
    operation = self._get_action()
    if operation in UNSIGNED and _credential_scope(self.headers) is None:
        return  # authorized by the token and the role's trust policy (see _assume_with_web_identity)
    principal, region, prefix = _caller(self, IAMRequest)
    action = ACTION_NAMES.get(f"{prefix}:{operation}", f"{prefix}:{operation}")
    if prefix == "apigateway":  # its IAM actions are the HTTP verbs (apigateway_arn)
        action = f"apigateway:{self.method.upper()}"
    if action == "sts:GetCallerIdentity":
        return  # always allowed (STS API reference)
    params = _json_params(self)
    if action == "sts:AssumeRole":
        problem = assume_role_problem(params)
        if problem:
            _deny(self, False, "ValidationError", problem)
        refusal = session_policy_problem(params)
        if refusal:
            _deny(self, False, *refusal)
    arn = _resource_for(prefix, action.split(":", 1)[1], params, self.path, region)
    if arn is None and principal.endswith(f":user/{ADMIN_USER}"):
        arn = "*"  # the administrator's `*` on `*` needs no resource rule
    if arn is None:
        _deny(
            self,
            False,
            "AccessDeniedException",
            f"local cloud: no resource rule for {action} (add one to textclf/localcloud/iam.py); "
            "refused rather than guessed",
        )
    if prefix == "lambda" and arn.startswith("arn:"):
        _refuse_foreign_function(self, principal, action, arn, region)
    context = _global_context(principal, region) | _context_for(prefix, action.split(":", 1)[1], params)
    _authorize_or_deny(self, Request(principal, action, arn, context, GLOBAL_KEYS | SERVICE_KEYS), region)
    for passed, service in _passed_roles(prefix, operation, params):
        passrole = Request(
            principal,
            "iam:PassRole",
            passed,
            _global_context(principal, region) | {"iam:passedtoservice": [service]},
            GLOBAL_KEYS | SERVICE_KEYS,
        )
        _authorize_or_deny(self, passrole, region)
    for key in _alias_keys(prefix, operation, params, region):
        _authorize_or_deny(self, Request(principal, action, key, context, GLOBAL_KEYS | SERVICE_KEYS), region)
    if action == "sts:AssumeRole":
        _check_trust(self, arn, principal, {}, "sts:AssumeRole")
        problem = _session_length_problem(
            _iam().get_role_by_arn(arn),
            _duration(params.get("DurationSeconds")),
            chained=":assumed-role/" in principal,
        )
        if problem:
            _deny(self, False, "ValidationError", problem)


# AssumeRole's parameters: RoleArn "Length Constraints: Minimum length of 20. Maximum length of 2048"
# and an ARN (a role's: arn:aws:iam::ACCOUNT:role/NAME); RoleSessionName "Length Constraints: Minimum
# length of 2. Maximum length of 64. Pattern: [\w+=,.@-]*". What fails them is ValidationError, HTTP 400
# (STS API reference, AssumeRole, https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html;
# Common Errors, https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def assume_role_problem(params: dict[str, Any]) -> str | None:
    """Why STS refuses this AssumeRole's RoleArn or RoleSessionName as a ValidationError, or None."""
    arn, session = str(params.get("RoleArn") or ""), str(params.get("RoleSessionName") or "")
    if not 20 <= len(arn) <= 2048 or not ROLE_ARN.fullmatch(arn):
        return (
            f"1 validation error detected: Value '{arn[:200]}' at 'roleArn' failed to satisfy constraint: "
            "Member must be the ARN of a role (arn:aws:iam::<account id>:role/<name>), 20 to 2048 characters"
        )
    if not SESSION_NAME.fullmatch(session):
        return _session_name_problem(session)
    return None


def _refuse_foreign_function(response: Any, principal: str, action: str, arn: str, region: str) -> None:
    """A function ARN names the account and Region that hold the function. moto looked functions up
    by name only, so another account's or Region's ARN reached the local function. Another account:
    its resource-based policy would have to grant the call too ("Cross-account policy evaluation
    logic", IAM User Guide,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html),
    and the local cloud holds one account; another Region: not this endpoint's function."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        return
    arn_region, account = parts[3], parts[4]
    if account != ACCOUNT:
        _deny(
            response,
            False,
            "AccessDeniedException",
            f"User: {principal} is not authorized to perform: {action} on resource: {arn} because no "
            f"resource-based policy of account {account} allows it (the local cloud holds account {ACCOUNT})",
        )
    if arn_region != region:
        _deny(
            response,
            False,
            "ResourceNotFoundException",
            f"Function not found: {arn} (the request went to {region}, the function is in {arn_region})",
        )


def _alias_keys(prefix: str, operation: str, params: dict[str, Any], region: str) -> list[str]:
    """The keys an alias call needs the same permission on, besides the alias: the target of
    CreateAlias, the current and the new target of UpdateAlias, the target of DeleteAlias
    ("Controlling access to aliases", https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html)."""
    if prefix != "kms" or operation not in ("CreateAlias", "UpdateAlias", "DeleteAlias"):
        return []
    keys = [kms_key_arn(str(params["TargetKeyId"]), region)] if params.get("TargetKeyId") else []
    if operation != "CreateAlias" and params.get("AliasName"):
        current = kms_key_arn(str(params["AliasName"]), region)
        if not current.endswith(f"key/{params['AliasName']}"):  # the alias exists: its key
            keys.append(current)
    return keys


def _passed_roles(prefix: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """Roles a call hands to a service: iam:PassRole is checked for each
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html)."""
    keys = {
        ("sagemaker", "CreateTrainingJob"): ("RoleArn", "sagemaker.amazonaws.com"),
        ("sagemaker", "CreateModel"): ("ExecutionRoleArn", "sagemaker.amazonaws.com"),
        ("lambda", "CreateFunction"): ("Role", "lambda.amazonaws.com"),
        ("lambda", "UpdateFunctionConfiguration"): ("Role", "lambda.amazonaws.com"),
    }
    found = keys.get((prefix, operation))
    if found and params.get(found[0]):
        return [(str(params[found[0]]), found[1])]
    if (prefix, operation) == ("events", "PutTargets"):
        return [
            (str(t["RoleArn"]), "events.amazonaws.com") for t in params.get("Targets", []) if t.get("RoleArn")
        ]
    return []


def _authorize_or_deny(response: Any, request: Request, region: str, bucket: str | None = None) -> None:
    # An S3 request's refusal is in S3's error shape, a bucket-less one (ListBuckets, the KMS check of
    # an object write) too: it came back in the query protocol's shape, which boto3 reads as no code.
    s3 = bucket is not None or type(response).__name__ == "S3Response"
    try:
        verdict = decide(request, region, bucket)
    except UnknownConditionKey as error:
        print(f"[local cloud] REFUSED {request.action} by {request.principal}: {error}", file=sys.stderr)
        _deny(response, s3, "AccessDenied", str(error))
        return
    if not verdict.allowed:
        code = (
            "AccessDenied"
            if bucket is not None or request.action.startswith(("iam:", "sts:", "s3:"))
            else "AccessDeniedException"
        )
        _deny(
            response,
            s3,
            code,
            _denied_message(request.principal, request.action, request.resource, verdict),
        )


def _authorize_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3ClientError  # noqa: F401  (S3 errors are raised by _deny)

    if not STATE.enforcing:
        return
    principal, region, _ = _caller(self, S3IAMRequest)
    if self.method == "POST" and key_name is None and self.is_delete_keys():
        # DeleteObjects is authorized key by key (`_delete_objects`), not on the bucket.
        self.textclf_delete_caller = (principal, region)
        return
    operation = self._get_action()
    action = ACTION_NAMES.get(f"s3:{operation}", f"s3:{operation}")
    target = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
    resource = f"arn:{PARTITION}:s3:::{target}"
    context = _global_context(principal, region)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(self.uri).query)
    if "prefix" in query:
        context["s3:prefix"] = query["prefix"][:1]
    for header in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
        if self.headers.get(header):
            context[f"s3:{header}"] = [self.headers[header]]
    api = ""
    if action == "s3:PutObject":
        with_blanks = urllib.parse.parse_qs(urllib.parse.urlparse(self.uri).query, keep_blank_values=True)
        api = _s3_write_operation(self.method, with_blanks, self.headers)
        context |= _s3_write_context(api, self.headers)
        if api == "CopyObject" and ("s3:if-none-match" in context or "s3:if-match" in context):
            _refuse_conditional_copy(bucket_name, resource)
    request = Request(principal, action, resource, context, GLOBAL_KEYS | SERVICE_KEYS)
    _authorize_or_deny(self, request, region, bucket_name)
    if action == "s3:PutObject" and "s3:x-amz-copy-source" in context:
        _authorize_copy_source(self, principal, region, context["s3:x-amz-copy-source"][0])
    if action == "s3:PutObject" and api in CONDITIONAL_WRITES:
        _refuse_unsupported_condition(self.headers)
        _check_write_preconditions(api, self.headers, bucket_name, key_name)
    if action in ("s3:GetObject", "s3:GetObjectVersion") and not _object_exists(bucket_name, key_name):
        # "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403
        # Access Denied error" for a key that does not exist (GetObject / HeadObject API reference).
        listing = Request(
            principal,
            "s3:ListBucket",
            f"arn:{PARTITION}:s3:::{bucket_name}",
            _global_context(principal, region),
            GLOBAL_KEYS | SERVICE_KEYS,
        )
        _authorize_or_deny(self, listing, region, bucket_name)
    key_arn = _object_kms_key(bucket_name, key_name, action, self.headers, region)
    if key_arn:
        kms_action = "kms:GenerateDataKey" if action == "s3:PutObject" else "kms:Decrypt"
        _authorize_kms_through_s3(self, principal, region, kms_action, key_arn)


def _authorize_kms_through_s3(
    response: Any, principal: str, region: str, kms_action: str, key_arn: str
) -> None:
    """SSE-KMS: S3 asks KMS as the caller, so the caller needs the key too
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html). The request
    reaches KMS through S3: kms:ViaService is S3's endpoint name (AWS KMS developer guide,
    "kms:ViaService"), which policies use to allow a key through S3 only."""
    through_s3 = {"kms:viaservice": [f"s3.{region}.amazonaws.com"]}
    context = _global_context(principal, region) | through_s3
    _authorize_or_deny(
        response, Request(principal, kms_action, key_arn, context, GLOBAL_KEYS | SERVICE_KEYS), region
    )


# --- writes: which S3 operation, and the condition keys it carries ------------------------------

# Every object write is authorized as s3:PutObject (S3 User Guide, "Multipart upload API and
# permissions", https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions:
# CreateMultipartUpload, UploadPart, UploadPartCopy and CompleteMultipartUpload need s3:PutObject;
# "Required permissions for Amazon S3 API operations": CopyObject needs s3:PutObject on the target
# and s3:GetObject on the source). What tells them apart in a policy is `s3:ObjectCreationOperation`,
# "whether or not the operation creates an object" (Service Authorization Reference, "Actions,
# resources, and condition keys for Amazon S3",
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html): false for
# CreateMultipartUpload, UploadPart and UploadPartCopy, which "don't accept conditional headers", so
# a policy that requires If-None-Match must exempt them with it (S3 User Guide, "Enforce conditional
# writes on Amazon S3 buckets",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html); true for
# PutObject, CompleteMultipartUpload and CopyObject. `s3:if-none-match` and `s3:if-match` are the
# request's If-None-Match and If-Match headers, carried by PutObject and CompleteMultipartUpload
# only; a header sent with a call that does not accept it sets no key.
PARTS = frozenset({"CreateMultipartUpload", "UploadPart", "UploadPartCopy"})
CONDITIONAL_WRITES = frozenset({"PutObject", "CompleteMultipartUpload", "CopyObject"})


def _s3_write_operation(method: str, query: dict[str, list[str]], headers: Any) -> str:
    """The S3 API operation of a request authorized as s3:PutObject (moto names them all so)."""
    copy = bool(headers.get("x-amz-copy-source"))
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
    if "uploadId" in query:
        return "UploadPartCopy" if copy else "UploadPart"
    return "CopyObject" if copy else "PutObject"


def _s3_write_context(api: str, headers: Any) -> dict[str, list[str]]:
    context = {"s3:objectcreationoperation": ["false" if api in PARTS else "true"]}
    if api in CONDITIONAL_WRITES:
        for header, key in (("If-None-Match", "s3:if-none-match"), ("If-Match", "s3:if-match")):
            if headers.get(header):
                context[key] = [headers[header]]
    if headers.get("x-amz-copy-source"):
        context["s3:x-amz-copy-source"] = [urllib.parse.unquote(headers["x-amz-copy-source"]).lstrip("/")]
    return context


def _refuse_conditional_copy(bucket: str | None, resource: str) -> None:
    """ "If you use a bucket policy to enforce conditional writes, you can't perform copy operations
    to the bucket or prefix specified in your bucket policy ... CopyObject requests made with those
    HTTP headers fail with a 501 Not Implemented response" (S3 User Guide, "Enforce conditional
    writes on Amazon S3 buckets"). Without the headers the policy's own condition refuses (403)."""
    from moto.s3.exceptions import S3ClientError

    try:
        policy = _bucket_policy(bucket) if bucket else None
    except MalformedStoredPolicy:
        return  # the authorization refuses the write, naming the policy
    statements = (policy or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or not isinstance(statement.get("Condition") or {}, dict):
            continue
        keys = {
            k.lower()
            for pairs in (statement.get("Condition") or {}).values()
            if isinstance(pairs, dict)
            for k in pairs
        }
        if (
            keys & {"s3:if-none-match", "s3:if-match"}
            and action_matches(statement.get("Action", []), "s3:PutObject")
            and resource_matches(statement.get("Resource", []), resource)
        ):
            error = S3ClientError(
                "NotImplemented", "A header you provided implies functionality that is not implemented"
            )
            error.http_status_code = 501  # type: ignore[attr-defined]  (_errors_with_their_status)
            raise error


def _not_implemented(header: str, detail: str) -> Exception:
    from moto.s3.exceptions import S3ClientError

    message = "A header you provided implies functionality that is not implemented"
    error = S3ClientError("NotImplemented", f"{message} ({header}: {detail})")
    error.http_status_code = 501  # type: ignore[attr-defined]  (_errors_with_their_status)
    return error


def _refuse_unsupported_condition(headers: Any) -> None:
    """S3's conditional writes take If-None-Match only as `*` and If-Match only as an ETag:
    PutObject, CompleteMultipartUpload and CopyObject "IfNoneMatch ... Expects the '*' (asterisk)
    character", "IfMatch ... Expects the ETag value as a string" (S3 API reference, e.g.
    https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/s3/aws.sdk.kotlin.services.s3.model/-complete-multipart-upload-request/if-none-match.html,
    https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/s3/aws.sdk.kotlin.services.s3.model/-put-object-request/if-match.html).
    Another value, or both headers in one request, is answered 501 NotImplemented and nothing is
    written (as LocalStack's S3 answers them: "We don't accept the provided value of If-None-Match
    header for this API", "Multiple conditional request headers present in the request"). moto
    ignored an If-None-Match other than `*`: `If-None-Match: "abc"` satisfied a write-once policy's
    Null condition, then replaced the released object."""
    if_none_match, if_match = headers.get("If-None-Match"), headers.get("If-Match")
    if if_none_match and if_match:
        raise _not_implemented("If-Match,If-None-Match", "multiple conditional request headers present")
    if if_none_match and if_none_match != "*":
        raise _not_implemented("If-None-Match", "S3 accepts only '*' for this API")
    if if_match == "*":
        raise _not_implemented("If-Match", "S3 accepts only an ETag for this API")


def _check_write_preconditions(api: str, headers: Any, bucket: str | None, key: str | None) -> None:
    """The preconditions moto does not evaluate: CopyObject "copies the object only if the object
    key name at the destination does not already exist" (If-None-Match: *) and "if the entity tag
    (ETag) of the destination object matches the specified tag" (If-Match); CompleteMultipartUpload
    "uploads the object only if the ETag ... matches the ETag of the object in S3" (If-Match).
    Otherwise 412 Precondition Failed (CopyObject and CompleteMultipartUpload API reference,
    IfNoneMatch / IfMatch, https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html); no object
    to match is 404 NoSuchKey, as moto answers PutObject's If-Match. moto's CopyObject ignored both
    headers and its CompleteMultipartUpload If-Match: the destination was overwritten."""
    from moto.s3.exceptions import MissingKey, PreconditionFailed
    from moto.s3.models import FakeDeleteMarker, s3_backends

    if_none_match = headers.get("If-None-Match") if api == "CopyObject" else None
    if_match = headers.get("If-Match") if api in ("CopyObject", "CompleteMultipartUpload") else None
    if not (if_none_match or if_match) or not bucket or not key:
        return
    found = s3_backends[ACCOUNT][PARTITION].buckets.get(bucket)
    existing = found.keys.get(key) if found is not None else None
    if isinstance(existing, FakeDeleteMarker):  # a deleted key: no current object
        existing = None
    if if_none_match == "*" and existing is not None:
        raise PreconditionFailed("If-None-Match")
    if if_match:
        if existing is None:
            raise MissingKey(key=key)
        if if_match.replace('"', "") != existing.etag.replace('"', ""):
            raise PreconditionFailed("If-Match")


def _authorize_copy_source(response: Any, principal: str, region: str, source: str) -> None:
    """CopyObject and UploadPartCopy read their source as the caller: s3:GetObject on it (and the
    key that encrypts it)."""
    path, _, version = source.partition("?versionId=")
    bucket, _, key = path.partition("/")
    action = "s3:GetObjectVersion" if version else "s3:GetObject"
    source_arn = f"arn:{PARTITION}:s3:::{bucket}/{key}"
    read = Request(
        principal, action, source_arn, _global_context(principal, region), GLOBAL_KEYS | SERVICE_KEYS
    )
    _authorize_or_deny(response, read, region, bucket)
    key_arn = object_kms_key(bucket, key, region)
    if key_arn:
        _authorize_kms_through_s3(response, principal, region, "kms:Decrypt", key_arn)


def _object_exists(bucket: str | None, key: str | None) -> bool:
    from moto.s3.models import s3_backends

    found = s3_backends[ACCOUNT][PARTITION].buckets.get(bucket or "")
    return found is None or key is None or found.keys.get(key) is not None  # a missing bucket: moto says so


def _object_kms_key(
    bucket: str | None, key: str | None, action: str, headers: Any, region: str
) -> str | None:
    """The KMS key an object is (or will be) encrypted with, for reads and writes of object data."""
    if not bucket or not key or action not in ("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"):
        return None
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT][PARTITION]
    found = backend.buckets.get(bucket)
    if found is None:
        return None
    if action == "s3:PutObject":
        if headers.get("x-amz-server-side-encryption") == "aws:kms":
            requested = headers.get("x-amz-server-side-encryption-aws-kms-key-id")
            return kms_key_arn(requested, region) if requested else None
        rule = (found.encryption or {}).get("Rule") or {}
        rule = rule[0] if isinstance(rule, list) else rule
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
            return kms_key_arn(default["KMSMasterKeyID"], region)
        return None
    return object_kms_key(bucket, key, region)


def object_kms_key(bucket: str, key: str, region: str) -> str | None:
    """The ARN of the KMS key a stored object is encrypted with, or None."""
    from moto.s3.models import s3_backends

    found = s3_backends[ACCOUNT][PARTITION].buckets.get(bucket)
    stored = found.keys.get(key) if found is not None else None
    if stored is None or getattr(stored, "encryption", None) != "aws:kms" or not stored.kms_key_id:
        return None
    return kms_key_arn(stored.kms_key_id, region)


# --- web identity (GitHub's OIDC tokens) ---------------------------------------------------------


def _claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as error:
        raise ValueError(f"the web identity token is not a JWT ({error})") from None


# The condition keys STS evaluates for GitHub's tokens in a trust policy: `sub` and `aud`, and since
# 2026 these claims ("AWS STS supports validation of identity provider claims"); a token without one
# leaves its key absent (a plain operator is then false), never unknown.
GITHUB_TRUST_KEYS = frozenset(
    f"token.actions.githubusercontent.com:{claim}"
    for claim in (
        "sub", "aud", "actor", "actor_id", "job_workflow_ref", "repository", "repository_id",
        "workflow", "ref", "environment", "enterprise_id",
    )
)  # fmt: skip


def _check_trust(
    response: Any, target_role_arn: str, principal: str, context: dict[str, list[str]], action: str
) -> None:
    """The role's trust policy must let `principal` assume it. A role that does not exist (in this
    account: the local cloud holds one) is AccessDenied, as STS answers it: "User: ... is not
    authorized to perform: sts:AssumeRole on resource: ..." (STS API reference, AssumeRole, Errors,
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html), never a stack (R14B-1)."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[ACCOUNT][PARTITION].get_role_by_arn(target_role_arn)
    except Exception:  # moto's NotFoundException: no such role
        _deny(
            response,
            False,
            "AccessDenied",
            f"User: {principal} is not authorized to perform: {action} on resource: {target_role_arn} "
            "(no such role in this account)",
        )
    request = Request(
        principal,
        action,
        target_role_arn,
        context,
        GLOBAL_KEYS | SERVICE_KEYS | GITHUB_TRUST_KEYS | frozenset(context),
    )
    try:
        trust = _document(role.assume_role_policy_document)
        verdict = authorize(request, ACCOUNT, [], None, trust, "trust policy")
    except (ValueError, RecursionError, UnknownConditionKey) as error:
        # A trust policy IAM would have refused (iamlimits checks them at CreateRole now), or a
        # condition key the local cloud cannot evaluate: refused, not guessed.
        verdict = Verdict(False, f"because its trust policy cannot be evaluated ({error})")
        trust = None
    if not verdict.allowed and trust is not None and _delegated_to_identity(request, trust, verdict):
        # The caller's identity-based policies allow sts:AssumeRole on the role: _authorize_normal
        # checked that before this trust check.
        verdict = Verdict(
            True, "the trust policy names the account, which delegates to its identity policies"
        )
    if not verdict.allowed:
        _deny(
            response,
            False,
            "AccessDenied",
            f"Not authorized to perform {action} on {target_role_arn} ({verdict.reason})",
        )


# A web identity token's time claims are NumericDates, "a JSON numeric value representing the number
# of seconds from 1970-01-01T00:00:00Z UTC" (RFC 7519, section 2): the JWT "MUST NOT be accepted for
# processing" on or after `exp` nor before `nbf` (4.1.4, 4.1.5); a string, NaN or infinity is no date.
# The issuer is the provider's URL, https:// included ("The URL must begin with https://", IAM User
# Guide, "Create an OpenID Connect (OIDC) identity provider in IAM",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html). STS answers
# InvalidIdentityToken, or ExpiredTokenException for an expired token (STS API reference,
# AssumeRoleWithWebIdentity, Errors,
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html). The local
# cloud took `exp: "inf"` (a session from a token that never expires) and answered `exp: "abc"` with
# an HTML 500 (issue 27, R14B-23). CLOCK_SKEW_SECONDS: the leeway for a token minted by a clock a
# little ahead.
CLOCK_SKEW_SECONDS = 300


def _numeric_date(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def token_claims_problem(claims: dict[str, Any], now: float) -> tuple[str, str] | None:
    """(error code, message) for a web identity token STS refuses for its claims, or None."""
    if not isinstance(claims, dict):
        return "InvalidIdentityToken", "The web identity token's payload is not a JSON object"
    if not str(claims.get("iss", "")).startswith("https://"):
        return "InvalidIdentityToken", f"The token's issuer {claims.get('iss')!r} is not an https:// URL"
    for key in ("exp", "nbf", "iat"):
        if (key in claims or key == "exp") and _numeric_date(claims.get(key)) is None:
            return (
                "InvalidIdentityToken",
                f"The web identity token's {key} claim {claims.get(key)!r:.50} is not a NumericDate",
            )
    if float(claims["exp"]) <= now:
        return "ExpiredTokenException", "Token expired: the web identity token that was passed is expired"
    if "nbf" in claims and float(claims["nbf"]) > now + CLOCK_SKEW_SECONDS:
        return "InvalidIdentityToken", "The web identity token is not valid yet (nbf is in the future)"
    if "iat" in claims and float(claims["iat"]) > now + CLOCK_SKEW_SECONDS:
        return "InvalidIdentityToken", "The web identity token was issued in the future (iat)"
    return None


# AssumeRole's and AssumeRoleWithWebIdentity's other inputs (STS API reference, AssumeRole,
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): ExternalId "Minimum length
# of 2. Maximum length of 1224. Pattern: [\w+=,.@:\/-]*"; Tags "Maximum number of 50 items";
# PolicyArns "Maximum number of 10 items"; Policy "Minimum length of 1. Maximum length of 2048" and a
# JSON policy (MalformedPolicyDocument). A valid session policy limits the session to the
# intersection of the role's policies and it; the local cloud does not evaluate session policies
# (docs/localcloud.md: no call of the project passes one), so such a call is refused, not answered
# with a session of the role's full rights (issue 27, R14B-24): a double that ignored a "Deny *"
# session policy hides exactly the permission it was meant to remove.
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)


def session_policy_problem(params: dict[str, Any]) -> tuple[str, str] | None:
    """(error code, message) for an AssumeRole's ExternalId, Tags, Policy or PolicyArns, or None."""
    external = params.get("ExternalId")
    if external is not None and not EXTERNAL_ID.fullmatch(str(external)):
        return (
            "ValidationError",
            f"1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must "
            f"have length 2 to 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]* "
            f"({len(str(external))} characters)",
        )
    for key, most in (("Tags", 50), ("PolicyArns", 10), ("TransitiveTagKeys", 50)):
        values = params.get(key)
        if isinstance(values, list) and len(values) > most:
            return (
                "ValidationError",
                f"1 validation error detected: Value at '{key[0].lower() + key[1:]}' failed to satisfy "
                f"constraint: Member must have length less than or equal to {most} ({len(values)} given)",
            )
    policy = params.get("Policy")
    if policy is not None:
        text = str(policy)
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            return "MalformedPolicyDocument", "The session policy (Policy) is not a JSON policy document"
        if not 1 <= len(text) <= 2048:
            return (
                "ValidationError",
                "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must "
                f"have length less than or equal to 2048 ({len(text)} characters)",
            )
    if policy is not None or params.get("PolicyArns"):
        return (
            "AccessDenied",
            "local cloud: session policies (Policy, PolicyArns) are not evaluated here, so a session "
            "limited by one cannot be issued; refused rather than granted the role's full rights "
            "(docs/localcloud.md, 'Not modelled')",
        )
    return None


def _session_name_problem(session: str) -> str:
    return (
        f"1 validation error detected: Value '{session[:100]}' at 'roleSessionName' failed to satisfy "
        "constraint: Member must have length 2 to 64 and satisfy regular expression pattern: [\\w+=,.@-]*"
    )


def _duration(value: Any) -> int:
    """DurationSeconds as an int; a value that is none is 0, which the session-length check refuses."""
    try:
        return int(value or 3600)
    except (TypeError, ValueError):
        return 0


def _delegated_to_identity(request: Request, trust: dict[str, Any], verdict: Verdict) -> bool:
    """A trust policy that names the account (its id or root ARN) lets the account's own users and
    roles assume the role when their identity-based policies allow sts:AssumeRole on it ("AWS JSON
    policy elements: Principal", AWS account principals: the account "delegates authority to the
    account's administrator", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html),
    unless the trust policy denies the caller explicitly. Only for sts:AssumeRole by a principal of
    this account (a web identity is no account principal)."""
    in_account = request.principal.startswith(
        (f"arn:{PARTITION}:iam::{ACCOUNT}:", f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/")
    )
    if request.action != "sts:AssumeRole" or not in_account or "explicit deny" in verdict.reason:
        return False
    root = Request(
        f"arn:{PARTITION}:iam::{ACCOUNT}:root",
        request.action,
        request.resource,
        request.context,
        request.known_keys,
    )
    try:
        return authorize(root, ACCOUNT, [], None, trust, "trust policy").allowed
    except UnknownConditionKey:
        return False


def _assume_with_web_identity(original):
    def assume_role_with_web_identity(self: Any) -> Any:
        from moto.iam.models import iam_backends

        if STATE.enforcing:
            token = self._get_param("WebIdentityToken") or ""
            arn = self._get_param("RoleArn") or ""
            try:
                oidc.verify(token)  # the signature first: nothing unsigned is read as claims
                claims = _claims(token)
            except ValueError as error:
                _deny(self, False, "InvalidIdentityToken", str(error))
            session = str(self._get_param("RoleSessionName") or "")
            if not SESSION_NAME.fullmatch(session):
                _deny(self, False, "ValidationError", _session_name_problem(session))
            problem = token_claims_problem(claims, clock.now()) or session_policy_problem(_json_params(self))
            if problem:
                _deny(self, False, *problem)
            backend = iam_backends[ACCOUNT][PARTITION]
            issuer = str(claims.get("iss", "")).removeprefix("https://")
            provider_arn = f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{issuer}"
            provider = backend.open_id_providers.get(provider_arn)
            if provider is None:
                _deny(
                    self,
                    False,
                    "InvalidIdentityToken",
                    f"No OpenIDConnect provider found in your account for {claims.get('iss')}",
                )
            if claims.get("aud") not in provider.client_id_list:
                _deny(self, False, "InvalidIdentityToken", f"Incorrect token audience {claims.get('aud')!r}")
            try:
                role = backend.get_role_by_arn(arn)
            except Exception:
                _deny(
                    self,
                    False,
                    "AccessDenied",
                    f"Not authorized to perform sts:AssumeRoleWithWebIdentity on {arn}",
                )
            problem = _session_length_problem(
                role, _duration(self._get_param("DurationSeconds")), chained=False
            )
            if problem:
                _deny(self, False, "ValidationError", problem)
            context = {
                f"{issuer}:{k}".lower(): [str(v)] for k, v in claims.items() if isinstance(v, str | int)
            }
            _check_trust(self, arn, provider_arn, context, "sts:AssumeRoleWithWebIdentity")
        return original(self)

    return assume_role_with_web_identity


# --- sessions the local cloud creates for services ------------------------------------------


def service_session(role: str, service: str, session_name: str) -> dict[str, str]:
    """Credentials of `role` as `service` gets them (SageMaker for a job, Lambda for a function),
    after checking that the role's trust policy lets that service assume it."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    arn = role if role.startswith("arn:") else role_arn(role)
    if STATE.enforcing:
        try:
            found = iam_backends[ACCOUNT][PARTITION].get_role_by_arn(arn)
        except Exception:
            raise LocalCloudAccessDenied(f"{service} cannot assume {arn}: no such role") from None
        context = {"aws:sourceaccount": [ACCOUNT]}
        request = Request(service, "sts:AssumeRole", arn, context, GLOBAL_KEYS | SERVICE_KEYS)
        try:
            trust = _document(found.assume_role_policy_document)
            verdict = authorize(request, ACCOUNT, [], None, trust, "trust policy")
        except (ValueError, RecursionError, UnknownConditionKey) as error:
            verdict = Verdict(False, f"its trust policy cannot be evaluated ({error})")
        if not verdict.allowed:
            raise LocalCloudAccessDenied(f"{service} cannot assume {arn}: {verdict.reason}")
    assumed = sts_backends[ACCOUNT][PARTITION].assume_role(
        region_name="us-east-1",
        role_session_name=session_name[:64],
        role_arn=arn,
        policy="",
        duration=3600,
        external_id="",
    )
    SESSIONS.pop(assumed.access_key_id, None)  # a service's role credentials are renewed for it
    return {
        "AWS_ACCESS_KEY_ID": assumed.access_key_id,
        "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
        "AWS_SESSION_TOKEN": assumed.session_token,
    }


def session_principal(env: dict[str, str]) -> str:
    """The ARN of the session whose keys `env` holds (for in-process checks)."""
    from moto.sts.models import sts_backends

    for assumed in sts_backends[ACCOUNT][PARTITION].assumed_roles:
        if assumed.access_key_id == env.get("AWS_ACCESS_KEY_ID"):
            return assumed.arn
    raise LocalCloudAccessDenied("no session holds these keys")


# --- DeleteObjects: one authorization per key ------------------------------------------------

# "For each key, Amazon S3 performs a delete operation and returns the result of that delete, success
# or failure, in the response"; it needs s3:DeleteObject, and s3:DeleteObjectVersion to delete a
# version (DeleteObjects API reference, https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
# moto authorized the request once, as s3:DeleteObject on the bucket ARN, which no statement on
# `<bucket>/models/*` matches: the write-once buckets' "never deleted" Deny was passed and released
# models deleted (issue 27, R13B-15). Here each key is decided as its own DeleteObject or
# DeleteObjectVersion; a refused key is an AccessDenied entry in Errors and is not deleted.


def _delete_objects(original: Any) -> Any:
    def delete_keys(self: Any, bucket_name: str, authenticated: bool = True) -> Any:
        caller = getattr(self, "textclf_delete_caller", None)
        if caller is None or not STATE.enforcing or not authenticated:
            return original(self, bucket_name, authenticated)
        import xmltodict
        from moto.core.responses import ActionResult
        from moto.s3.exceptions import MalformedXML

        principal, region = caller
        objects = xmltodict.parse(self.body, strip_whitespace=False)["Delete"].get("Object", [])
        objects = objects if isinstance(objects, list) else [objects]
        if not objects:
            raise MalformedXML()
        allowed, errors = [], []
        for obj in objects:
            version = obj.get("VersionId")
            action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
            resource = f"arn:{PARTITION}:s3:::{bucket_name}/{obj['Key']}"
            request = Request(
                principal, action, resource, _global_context(principal, region), GLOBAL_KEYS | SERVICE_KEYS
            )
            try:
                verdict = decide(request, region, bucket_name)
            except UnknownConditionKey as error:
                verdict = Verdict(False, str(error))
            if verdict.allowed:
                allowed.append(obj)
                continue
            message = _denied_message(principal, action, resource, verdict)
            print(f"[local cloud] REFUSED DeleteObjects key: {message}", file=sys.stderr)
            errors.append(
                {"Key": obj["Key"], "VersionId": version, "Code": "AccessDenied", "Message": message}
            )
        bypass = self.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"
        deleted, locked = self.backend.delete_objects(bucket_name, allowed, bypass) if allowed else ([], [])
        errors += [
            {
                "Key": key,
                "Code": "AccessDenied",
                "Message": "Access Denied because object protected by object lock.",
            }
            for key in locked
        ]
        done = [
            {
                "Key": k,
                "VersionId": v or None,
                "DeleteMarkerVersionId": dv or None,
                "DeleteMarker": True if dv else None,
            }
            for k, v, dv in deleted
        ]
        self.data["Action"] = "DeleteObjects"
        return self.serialized(ActionResult({"Deleted": done, "Errors": errors}))

    delete_keys.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_keys


# --- installation ---------------------------------------------------------------------------


def _errors_with_their_status() -> None:
    """moto answers an S3 error its service model does not list with HTTP 400; the errors raised
    here with `http_status_code` (501 NotImplemented) answer with theirs."""
    from moto.core import serialize
    from moto.core.errors import ErrorShape

    original = serialize.get_error_model

    def get_error_model(exception: Exception, default_service_model: Any) -> Any:
        status = getattr(exception, "http_status_code", None)
        if status is None:
            return original(exception, default_service_model)
        code = str(getattr(exception, "code", type(exception).__name__))
        model = {"exception": True, "type": "structure", "members": {}}
        return ErrorShape(
            shape_name=code, shape_model=model | {"error": {"code": code, "httpStatusCode": status}}
        )

    serialize.get_error_model = get_error_model


def install() -> None:
    """Replace moto's authorization hook; keep the administrator across resets."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sts.responses import TokenResponse

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = _authorize_normal
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = _authorize_s3
    from moto.s3.responses import S3Response

    S3Response._bucket_response_delete_keys = _delete_objects(S3Response._bucket_response_delete_keys)
    TokenResponse.assume_role_with_web_identity = _assume_with_web_identity(
        TokenResponse.assume_role_with_web_identity
    )
    from moto.sts.models import STSBackend

    STSBackend.assume_role = _expiring_sessions(STSBackend.assume_role)
    _errors_with_their_status()
    original_reset = MotoAPIBackend.reset

    def reset(self: Any) -> None:
        original_reset(self)
        SESSIONS.clear()
        bootstrap_admin()

    MotoAPIBackend.reset = reset
    # moto's S3 also checks bucket policies on object requests, with its own evaluator (conditions
    # such as Null on s3:if-none-match misread); this module evaluates them as AWS does instead.
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    FakeBucket.get_permission = lambda self, action, resource: PermissionResult.NEUTRAL
    bootstrap_admin()
