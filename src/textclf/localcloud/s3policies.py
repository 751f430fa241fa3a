"""PutBucketPolicy refuses what S3 refuses: a document S3 cannot use is `MalformedPolicy`, HTTP 400,
and nothing is stored.

moto stored any body. A policy whose Statement list held a string then broke every later request on
the bucket (the local cloud's evaluator read it for each), DeleteBucketPolicy included, so the bucket
could not be repaired (issue 27, R14B-15); a statement without a Principal, on another bucket, with
`s3:Bogus` or `Effect: Maybe` was stored and silently never applied, where S3 refuses it.

The rules (S3 API reference, PutBucketPolicy,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html, error MalformedPolicy;
IAM User Guide, "IAM JSON policy element reference",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html; S3 User Guide,
"Bucket policies and user policies", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html:
"Bucket policies are limited to 20 KB in size"; AWS re:Post, "Invalid principal in policy" error,
https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error):
- the body is a JSON object ("Policies must be valid JSON and the first byte must be '{'") of at
  most 20 KB, with the elements Version (2008-10-17 or 2012-10-17), Id and Statement only;
- Statement is one statement object or a non-empty list of them, each with Effect Allow or Deny,
  a Principal (or NotPrincipal), an Action (or NotAction), a Resource (or NotResource), an optional
  Sid and Condition, nothing else;
- a Principal is "*" or an object of AWS / Service / Federated / CanonicalUser values; an AWS value
  is "*", an account id or an IAM / STS ARN ("Invalid principal in policy");
- an action is "*" or an S3 action (IAM actions are case-insensitive; a wildcard must match one):
  anything else is "Policy has invalid action" (Service Authorization Reference, "Actions,
  resources, and condition keys for Amazon S3",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html);
- a resource is this bucket's ARN or an object ARN in it (a wildcard may stand for either):
  "Policy has invalid resource";
- a Condition is an object of condition operators, each an object of keys and values.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

MAX_POLICY_BYTES = 20 * 1024
VERSIONS = ("2008-10-17", "2012-10-17")
TOP_ELEMENTS = frozenset({"Version", "Id", "Statement"})
STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
PRINCIPAL_KINDS = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
CONDITION_OPERATORS = frozenset(
    {
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
        "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
        "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
        "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
        "ArnNotLike", "Null",
    }
)  # fmt: skip
# The S3 actions of the Service Authorization Reference (list_amazons3), lower case.
S3_ACTIONS = frozenset(
    a.lower()
    for a in """
    AbortMultipartUpload AssociateAccessGrantsIdentityCenter BypassGovernanceRetention CreateAccessGrant
    CreateAccessGrantsInstance CreateAccessGrantsLocation CreateAccessPoint CreateAccessPointForObjectLambda
    CreateBucket CreateBucketMetadataTableConfiguration CreateBucketMetadataConfiguration CreateJob
    CreateMultiRegionAccessPoint CreateStorageLensGroup DeleteAccessGrant DeleteAccessGrantsInstance
    DeleteAccessGrantsInstanceResourcePolicy DeleteAccessGrantsLocation DeleteAccessPoint
    DeleteAccessPointForObjectLambda DeleteAccessPointPolicy DeleteAccessPointPolicyForObjectLambda
    DeleteBucket DeleteBucketMetadataTableConfiguration DeleteBucketMetadataConfiguration
    DeleteBucketOwnershipControls DeleteBucketPolicy DeleteBucketWebsite DeleteJobTagging
    DeleteMultiRegionAccessPoint DeleteObject DeleteObjectTagging DeleteObjectVersion
    DeleteObjectVersionTagging DeleteStorageLensConfiguration DeleteStorageLensConfigurationTagging
    DeleteStorageLensGroup DescribeJob DescribeMultiRegionAccessPointOperation
    DissociateAccessGrantsIdentityCenter GetAccelerateConfiguration GetAccessGrant GetAccessGrantsInstance
    GetAccessGrantsInstanceForPrefix GetAccessGrantsInstanceResourcePolicy GetAccessGrantsLocation
    GetAccessPoint GetAccessPointConfigurationForObjectLambda GetAccessPointForObjectLambda
    GetAccessPointPolicy GetAccessPointPolicyForObjectLambda GetAccessPointPolicyStatus
    GetAccessPointPolicyStatusForObjectLambda GetAccountPublicAccessBlock GetAnalyticsConfiguration
    GetBucketAbac GetBucketAcl GetBucketCORS GetBucketLocation GetBucketLogging
    GetBucketMetadataTableConfiguration GetBucketMetadataConfiguration GetBucketNotification
    GetBucketObjectLockConfiguration GetBucketOwnershipControls GetBucketPolicy GetBucketPolicyStatus
    GetBucketPublicAccessBlock GetBucketRequestPayment GetBucketTagging GetBucketVersioning
    GetBucketWebsite GetDataAccess GetEncryptionConfiguration GetIntelligentTieringConfiguration
    GetInventoryConfiguration GetJobTagging GetLifecycleConfiguration GetMetricsConfiguration
    GetMultiRegionAccessPoint GetMultiRegionAccessPointPolicy GetMultiRegionAccessPointPolicyStatus
    GetMultiRegionAccessPointRoutes GetObject GetObjectAcl GetObjectAttributes GetObjectLegalHold
    GetObjectRetention GetObjectTagging GetObjectTorrent GetObjectVersion GetObjectVersionAcl
    GetObjectVersionAttributes GetObjectVersionForReplication GetObjectVersionTagging
    GetObjectVersionTorrent GetReplicationConfiguration GetStorageLensConfiguration
    GetStorageLensConfigurationTagging GetStorageLensDashboard GetStorageLensGroup InitiateReplication
    ListAccessGrants ListAccessGrantsInstances ListAccessGrantsLocations ListAccessPoints
    ListAccessPointsForObjectLambda ListAllMyBuckets ListBucket ListBucketMultipartUploads
    ListBucketVersions ListCallerAccessGrants ListJobs ListMultiRegionAccessPoints
    ListMultipartUploadParts ListStorageLensConfigurations ListStorageLensGroups ListTagsForResource
    ObjectOwnerOverrideToBucketOwner PauseReplication PutAccelerateConfiguration
    PutAccessGrantsInstanceResourcePolicy PutAccessPointConfigurationForObjectLambda PutAccessPointPolicy
    PutAccessPointPolicyForObjectLambda PutAccessPointPublicAccessBlock PutAccountPublicAccessBlock
    PutAnalyticsConfiguration PutBucketAbac PutBucketAcl PutBucketCORS PutBucketLogging
    PutBucketNotification PutBucketObjectLockConfiguration PutBucketOwnershipControls PutBucketPolicy
    PutBucketPublicAccessBlock PutBucketRequestPayment PutBucketTagging PutBucketVersioning
    PutBucketWebsite PutEncryptionConfiguration PutIntelligentTieringConfiguration
    PutInventoryConfiguration PutJobTagging PutLifecycleConfiguration PutMetricsConfiguration
    PutMultiRegionAccessPointPolicy PutObject PutObjectAcl PutObjectLegalHold PutObjectRetention
    PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging PutReplicationConfiguration
    PutStorageLensConfiguration PutStorageLensConfigurationTagging ReplicateDelete ReplicateObject
    ReplicateTags RestoreObject SubmitMultiRegionAccessPointRoutes TagResource UntagResource
    UpdateAccessGrantsLocation UpdateBucketMetadataInventoryTableConfiguration
    UpdateBucketMetadataJournalTableConfiguration UpdateJobPriority UpdateJobStatus
    UpdateStorageLensGroup
    """.split()  # noqa: SIM905  (the reference's list, as it reads)
)
ACCOUNT_ID = re.compile(r"\d{12}")
AWS_PRINCIPAL = re.compile(
    r"arn:aws[a-z-]*:(iam::(\d{12}|cloudfront):(root|(user|role|federated-user)/.+)"
    r"|sts::\d{12}:(assumed-role/[^/]+/.+|federated-user/.+))"
)
SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?")


class MalformedBucketPolicy(ValueError):
    """What S3 answers MalformedPolicy for, in its words."""


def _wildcard(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _strings(statement: dict[str, Any], element: str) -> list[str]:
    value = statement[element]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise MalformedBucketPolicy(f"{element} must be a string or a non-empty list of strings")
    return values


def _check_action(action: str) -> None:
    if action == "*":
        return
    prefix, colon, name = action.partition(":")
    if not colon or prefix.lower() != "s3" or not name:
        raise MalformedBucketPolicy(f"Policy has invalid action: {action}")
    if not any(_wildcard(name, known) for known in S3_ACTIONS):
        raise MalformedBucketPolicy(f"Policy has invalid action: {action}")


def _check_resource(resource: str, bucket: str) -> None:
    arn = f"arn:aws:s3:::{bucket}"
    if resource.startswith(arn + "/") or _wildcard(resource, arn):
        return
    literal = re.split(r"[*?]", resource, maxsplit=1)[0]
    wild = literal != resource
    if wild and literal.startswith("arn:aws:s3:::") and (arn + "/").startswith(literal):
        return  # a wildcard inside the bucket part: it can name this bucket's objects
    raise MalformedBucketPolicy(
        f"Policy has invalid resource: {resource} (not bucket {bucket} or its objects)"
    )


def check_principal(principal: Any) -> None:
    if principal == "*":
        return
    if not isinstance(principal, dict) or not principal:
        raise MalformedBucketPolicy("Invalid principal in policy")
    for kind, values in principal.items():
        if kind not in PRINCIPAL_KINDS:
            raise MalformedBucketPolicy(f"Invalid principal in policy: unknown principal type {kind}")
        values = values if isinstance(values, list) else [values]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise MalformedBucketPolicy(f"Invalid principal in policy: {kind} {values!r}")
        for value in values:
            ok = {
                "AWS": value == "*" or ACCOUNT_ID.fullmatch(value) or AWS_PRINCIPAL.fullmatch(value),
                "Service": SERVICE_PRINCIPAL.fullmatch(value),
                "Federated": True,
                "CanonicalUser": re.fullmatch(r"[0-9a-f]{64}", value),
            }[kind]
            if not ok:
                raise MalformedBucketPolicy(f'Invalid principal in policy: "{kind}": "{value}"')
            if kind == "AWS" and not _identity_exists(value):
                raise MalformedBucketPolicy(
                    f'Invalid principal in policy: "AWS": "{value}" '
                    "(no such IAM role or user in this account)"
                )


# AWS resolves an IAM role or user ARN in a policy's Principal to the entity's unique ID when the
# policy is saved, so one that does not exist makes the policy invalid ("Invalid principal in policy":
# IAM User Guide, "AWS JSON policy elements: Principal", IAM role principals,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html; AWS
# Knowledge Center, s3-invalid-principal-in-policy-error: "confirm that the user or role wasn't
# deleted"). Checked for this account's roles and users (the local cloud holds one account); a
# Terraform configuration that writes a policy before the role it names passed here and failed on
# AWS (issue 27, R14B-42). Bucket policies, trust policies (iamlimits) and key policies
# (kmspolicies) all go through check_principal.
LOCAL_IDENTITY = re.compile(r"arn:aws:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)")


def _identity_exists(value: str) -> bool:
    found = LOCAL_IDENTITY.fullmatch(value)
    if found is None:
        return True  # an account, "*", a session or another form: nothing to resolve
    from textclf.localcloud import iam

    if found.group(1) != iam.ACCOUNT:
        return True  # another account: the local cloud cannot know its roles
    backend = iam._iam()
    if found.group(2) == "user":
        return found.group(3) in backend.users
    return any(role.name == found.group(3) for role in backend.roles.values())


_check_principal = check_principal  # the name kmspolicies imports


def _check_condition(condition: Any) -> None:
    if not isinstance(condition, dict):
        raise MalformedBucketPolicy("Invalid Condition type: Condition must be an object of operators")
    for operator, pairs in condition.items():
        base = str(operator)
        for prefix in ("ForAnyValue:", "ForAllValues:"):
            base = base.removeprefix(prefix)
        base = base.removesuffix("IfExists")
        if base not in CONDITION_OPERATORS:
            raise MalformedBucketPolicy(f"Invalid Condition type : {operator}")
        if not isinstance(pairs, dict) or not pairs:
            raise MalformedBucketPolicy(f"Invalid Condition: {operator} must be an object of keys and values")
        for key, value in pairs.items():
            values = value if isinstance(value, list) else [value]
            if not key or not values or not all(isinstance(v, str | bool | int | float) for v in values):
                raise MalformedBucketPolicy(f"Invalid Condition: {operator} {key!r} has no usable value")


def _check_statement(statement: Any, bucket: str) -> None:
    if not isinstance(statement, dict):
        raise MalformedBucketPolicy(f"Statement is not an object: {json.dumps(statement)[:100]}")
    unknown = sorted(set(statement) - STATEMENT_ELEMENTS)
    if unknown:
        raise MalformedBucketPolicy(f"Unknown field {unknown[0]}")
    effect = statement.get("Effect")
    if effect is None:
        raise MalformedBucketPolicy("Missing required field Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedBucketPolicy(f"Invalid effect: {effect}")
    for one, other in (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource")):
        if one in statement and other in statement:
            raise MalformedBucketPolicy(f"A statement has both {one} and {other}")
        if one not in statement and other not in statement:
            raise MalformedBucketPolicy(f"Missing required field {one}")
    check_principal(statement.get("Principal", statement.get("NotPrincipal")))
    for action in _strings(statement, "Action" if "Action" in statement else "NotAction"):
        _check_action(action)
    for resource in _strings(statement, "Resource" if "Resource" in statement else "NotResource"):
        _check_resource(resource, bucket)
    if "Condition" in statement:
        _check_condition(statement["Condition"])
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        raise MalformedBucketPolicy("Sid must be a string")


def policy_problem(bucket: str, body: bytes | str) -> str | None:
    """Why S3 refuses `body` as the policy of `bucket` (MalformedPolicy), or None."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_POLICY_BYTES:
        return f"Policy exceeds the maximum allowed document size ({len(raw)} bytes; at most 20 KB)"
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        return "Policies must be valid JSON and the first byte must be '{'"
    try:
        unknown = sorted(set(document) - TOP_ELEMENTS)
        if unknown:
            raise MalformedBucketPolicy(f"Unknown field {unknown[0]}")
        if "Version" in document and document["Version"] not in VERSIONS:
            raise MalformedBucketPolicy(f"Invalid policy version: {document['Version']}")
        statements = document.get("Statement")
        if statements is None:
            raise MalformedBucketPolicy("Missing required field Statement")
        statements = statements if isinstance(statements, list) else [statements]
        if not statements:
            raise MalformedBucketPolicy("Missing required field Statement")
        for statement in statements:
            _check_statement(statement, bucket)
    except MalformedBucketPolicy as error:
        return str(error)
    return None


def _checked_put(original: Any) -> Any:
    def put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
        self.get_bucket(bucket_name)  # NoSuchBucket first, as S3 answers
        problem = policy_problem(bucket_name, policy)
        if problem:
            from moto.s3.exceptions import S3ClientError

            print(f"[local cloud] REFUSED PutBucketPolicy on s3://{bucket_name}: {problem}", file=sys.stderr)
            error = S3ClientError("MalformedPolicy", problem)
            error.http_status_code = 400  # type: ignore[attr-defined]  (iam._errors_with_their_status)
            raise error
        return original(self, bucket_name, policy)

    put_bucket_policy.__wrapped__ = original  # type: ignore[attr-defined]
    return put_bucket_policy


def install() -> None:
    from moto.s3.models import S3Backend

    S3Backend.put_bucket_policy = _checked_put(S3Backend.put_bucket_policy)
