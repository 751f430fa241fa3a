"""The local cloud's policy evaluation, rule by rule, against AWS's documented behaviour."""

from __future__ import annotations

import pytest

from textclf.localcloud.policy import Request, UnknownConditionKey, authorize, evaluate

ACCOUNT = "123456789012"
ROLE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session"
KEYS = frozenset({"s3:prefix", "iam:passedtoservice", "aws:securetransport"})


def request(action: str, resource: str, **context: str) -> Request:
    return Request(ROLE_SESSION, action, resource, {k.lower(): [v] for k, v in context.items()}, KEYS)


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_wildcards_span_slashes_and_colons_and_actions_ignore_case():
    identity = [policy(allow("S3:get*", "arn:aws:s3:::bucket/models/*"))]
    assert evaluate(identity, request("s3:GetObject", "arn:aws:s3:::bucket/models/a/b:c"), ACCOUNT) == "allow"
    assert evaluate(identity, request("s3:GetObject", "arn:aws:s3:::bucket/data/x"), ACCOUNT) is None
    assert evaluate(identity, request("s3:PutObject", "arn:aws:s3:::bucket/models/x"), ACCOUNT) is None


def test_an_explicit_deny_wins_over_any_allow():
    identity = [
        policy(allow("s3:*", "*")),
        policy({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/production/*"}),
    ]
    verdict = authorize(request("s3:PutObject", "arn:aws:s3:::bucket/production/m.json"), ACCOUNT, identity)
    assert not verdict.allowed and "explicit deny" in verdict.reason
    assert authorize(request("s3:PutObject", "arn:aws:s3:::bucket/models/x"), ACCOUNT, identity).allowed


def test_nothing_allowed_is_an_implicit_deny_that_names_the_action():
    verdict = authorize(
        request("sagemaker:UpdateEndpoint", "arn:aws:sagemaker:us-east-1:1:endpoint/e"), ACCOUNT, []
    )
    assert not verdict.allowed
    assert verdict.reason == "because no identity-based policy allows the sagemaker:UpdateEndpoint action"


def test_conditions_and_missing_keys():
    listing = [
        policy(allow("s3:ListBucket", "arn:aws:s3:::b", Condition={"StringLike": {"s3:prefix": "dvc/*"}}))
    ]
    assert evaluate(listing, request("s3:ListBucket", "arn:aws:s3:::b", **{"s3:prefix": "dvc/ab"}), ACCOUNT)
    assert (
        evaluate(listing, request("s3:ListBucket", "arn:aws:s3:::b", **{"s3:prefix": "x/"}), ACCOUNT) is None
    )
    # A key the request does not carry: a plain operator is false, a negated one true.
    assert evaluate(listing, request("s3:ListBucket", "arn:aws:s3:::b"), ACCOUNT) is None
    negated = [policy(allow("s3:ListBucket", "*", Condition={"StringNotEquals": {"s3:prefix": "secret/"}}))]
    assert evaluate(negated, request("s3:ListBucket", "arn:aws:s3:::b"), ACCOUNT) == "allow"
    if_exists = [policy(allow("s3:ListBucket", "*", Condition={"StringEqualsIfExists": {"s3:prefix": "a"}}))]
    assert evaluate(if_exists, request("s3:ListBucket", "arn:aws:s3:::b"), ACCOUNT) == "allow"


def test_passrole_only_to_the_named_service():
    identity = [
        policy(
            allow(
                "iam:PassRole",
                f"arn:aws:iam::{ACCOUNT}:role/sm",
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
    ]
    role = f"arn:aws:iam::{ACCOUNT}:role/sm"
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert authorize(request("iam:PassRole", role, **passed), ACCOUNT, identity).allowed
    to_lambda = {"iam:PassedToService": "lambda.amazonaws.com"}
    assert not authorize(request("iam:PassRole", role, **to_lambda), ACCOUNT, identity).allowed


def test_a_condition_key_the_local_cloud_cannot_supply_is_refused_loudly():
    identity = [policy(allow("s3:GetObject", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))]
    with pytest.raises(UnknownConditionKey, match="aws:SourceIp"):
        evaluate(identity, request("s3:GetObject", "arn:aws:s3:::b/k"), ACCOUNT)


def test_a_permissions_boundary_limits_identity_grants_only():
    identity = [policy(allow("*", "*"))]
    boundary = policy(allow("s3:GetObject", "*"))
    assert authorize(request("s3:GetObject", "arn:aws:s3:::b/k"), ACCOUNT, identity, boundary).allowed
    verdict = authorize(request("iam:CreateRole", "*"), ACCOUNT, identity, boundary)
    assert not verdict.allowed and "permissions boundary" in verdict.reason


def test_a_bucket_policy_deny_applies_to_every_principal():
    identity = [policy(allow("s3:*", "*"))]
    bucket_policy = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    plain_http = request("s3:GetObject", "arn:aws:s3:::b/k", **{"aws:SecureTransport": "false"})
    verdict = authorize(plain_http, ACCOUNT, identity, None, bucket_policy, "bucket policy")
    assert not verdict.allowed and verdict.reason == "with an explicit deny in a bucket policy"


def test_a_resource_policy_naming_the_account_delegates_to_iam_and_grants_no_role_itself():
    """IAM User Guide, "AWS JSON policy elements: Principal" (AWS account principals): the account
    (id or root ARN) in a resource policy is the account, whose administrator then grants its
    users and roles with identity-based policies; a role gets nothing from that statement alone."""
    for account in (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"):
        key_policy = policy(allow("kms:*", "*", Principal={"AWS": account}))
        decrypt = request("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k")
        verdict = authorize(decrypt, ACCOUNT, [], None, key_policy, "key policy")
        assert not verdict.allowed, account
        as_root = Request(f"arn:aws:iam::{ACCOUNT}:root", "kms:Decrypt", "*", {}, KEYS)
        assert authorize(as_root, ACCOUNT, [], None, key_policy, "key policy").allowed
        named = policy(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"}))
        assert authorize(decrypt, ACCOUNT, [], None, named, "key policy").allowed  # the role itself


def test_a_trust_policy_matches_its_principal_and_its_claims():
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:sub": "repo:o/r:pull_request"}
            },
        }
    )
    key = "token.actions.githubusercontent.com:sub"

    def web_identity(sub: str) -> Request:
        return Request(provider, "sts:AssumeRoleWithWebIdentity", "role", {key: [sub]}, frozenset({key}))

    assert authorize(web_identity("repo:o/r:pull_request"), ACCOUNT, [], None, trust, "trust policy").allowed
    verdict = authorize(
        web_identity("repo:o/r:environment:production"), ACCOUNT, [], None, trust, "trust policy"
    )
    assert not verdict.allowed and "trust policy" in verdict.reason


def test_a_resource_policy_grant_to_a_role_is_limited_by_the_roles_boundary():
    """IAM User Guide, "Policy evaluation for requests within a single account": "Resource-based
    policies that grant permissions to an IAM role ARN are limited by an implicit deny in a
    permissions boundary"; a grant to the session's own ARN (or to every principal) is not."""
    boundary = policy(allow("s3:GetObject", "*"))
    put = request("s3:PutObject", "arn:aws:s3:::b/models/x")

    def bucket_policy(principal) -> dict:
        return policy(allow("s3:PutObject", "arn:aws:s3:::b/*", Principal=principal))

    to_role = bucket_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"})
    verdict = authorize(put, ACCOUNT, [], boundary, to_role, "bucket policy")
    assert not verdict.allowed and "permissions boundary" in verdict.reason
    # Without a boundary, or with one that allows the action, the role's grant stands.
    assert authorize(put, ACCOUNT, [], None, to_role, "bucket policy").allowed
    assert authorize(put, ACCOUNT, [], policy(allow("s3:*", "*")), to_role, "bucket policy").allowed
    for direct in ({"AWS": ROLE_SESSION}, "*", {"AWS": "*"}):
        assert authorize(put, ACCOUNT, [], boundary, bucket_policy(direct), "bucket policy").allowed, direct


def test_for_all_values_matches_a_missing_key_unless_a_null_guard_requires_it():
    """IAM User Guide, "Single-valued vs. multivalued context keys": ForAllValues "returns true if
    there are no context keys in the request"; a Null condition on the key closes that."""
    keys = frozenset({"sagemaker:instancetypes"})
    job = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/textclf-1"
    only_cpu = {"ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.m5.large"]}}
    guarded = only_cpu | {"Null": {"sagemaker:InstanceTypes": "false"}}

    def create(*types: str) -> Request:
        context = {"sagemaker:instancetypes": list(types)} if types else {}
        return Request(ROLE_SESSION, "sagemaker:CreateTrainingJob", job, context, keys)

    unguarded = [policy(allow("sagemaker:CreateTrainingJob", job, Condition=only_cpu))]
    assert evaluate(unguarded, create(), ACCOUNT) == "allow"  # no instance type named: matched
    assert evaluate(unguarded, create("ml.p4d.24xlarge"), ACCOUNT) is None
    with_guard = [policy(allow("sagemaker:CreateTrainingJob", job, Condition=guarded))]
    assert evaluate(with_guard, create(), ACCOUNT) is None
    assert evaluate(with_guard, create("ml.m5.large"), ACCOUNT) == "allow"
    assert evaluate(with_guard, create("ml.m5.large", "ml.p4d.24xlarge"), ACCOUNT) is None


def test_a_training_job_request_carries_the_instance_types_it_names_and_no_invented_one():
    """sagemaker:InstanceTypes: "the list of all instance types associated with the resource in
    the request" (Service Authorization Reference, list_amazonsagemaker): the job's and its
    instance groups'; none named, no key (not an empty string that a ForAllValues would refuse)."""
    from textclf.localcloud.iam import _context_for

    def types(resources: dict) -> list[str] | None:
        params = {"ResourceConfig": resources, "StoppingCondition": {"MaxRuntimeInSeconds": 60}}
        return _context_for("sagemaker", "CreateTrainingJob", params).get("sagemaker:instancetypes")

    assert types({"InstanceType": "ml.m5.large", "InstanceCount": 1}) == ["ml.m5.large"]
    groups = [{"InstanceType": "ml.c5.xlarge"}, {"InstanceType": "ml.p4d.24xlarge"}]
    assert types({"InstanceGroups": groups, "VolumeSizeInGB": 10}) == ["ml.c5.xlarge", "ml.p4d.24xlarge"]
    assert types({"InstanceCount": 1, "VolumeSizeInGB": 10}) is None
