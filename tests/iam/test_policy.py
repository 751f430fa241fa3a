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
