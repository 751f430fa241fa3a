"""The local cloud refuses the policies and calls AWS refuses, with AWS's error code and status, and
never answers an HTTP 500: PutBucketPolicy's MalformedPolicy (R14B-15), STS AssumeRole on a role that
does not exist or a RoleArn that is not one (R14B-1)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from textclf.localcloud import clock, iam, oidc, principals

BUCKET = "textclf-policy-checks"
ARN = f"arn:aws:s3:::{BUCKET}"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def session_client(service: str, credentials: dict):
    """A client signing with an AssumeRole answer's Credentials."""
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def refused(call, code: str, status: int) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), error
    return error["Error"].get("Message", "")


def statement(**changes) -> dict:
    base = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"{ARN}/models/*"}
    return {k: v for k, v in (base | changes).items() if v is not None}


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (policy("x"), "not an object"),
        ('["not", "an object"]', "the first byte must be '{'"),
        ("{not json", "the first byte must be '{'"),
        (json.dumps({"Version": "2012-10-17", "Statement": "x"}), "not an object"),
        (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
        (policy(statement(Principal=None)), "Missing required field Principal"),
        (policy(statement(Action=None)), "Missing required field Action"),
        (policy(statement(Resource=None)), "Missing required field Resource"),
        (policy(statement(Resource="arn:aws:s3:::other/*")), "Policy has invalid resource"),
        (policy(statement(Action="s3:Bogus")), "Policy has invalid action"),
        (policy(statement(Action="iam:PassRole")), "Policy has invalid action"),
        (policy(statement(Effect="Maybe")), "Invalid effect: Maybe"),
        (policy(statement(Principal={"AWS": "not-an-arn"})), "Invalid principal in policy"),
        (policy(statement(Condition="x")), "Invalid Condition"),
        (policy(statement(Condition={"StringBogus": {"s3:prefix": "a"}})), "Invalid Condition type"),
        (policy(statement(Bogus=1)), "Unknown field Bogus"),
        (policy(*[statement(Sid=f"S{i}", Resource=f"{ARN}/{'x' * 200}{i}") for i in range(90)]), "20 KB"),
    ],
)
def test_put_bucket_policy_refuses_a_malformed_policy_and_stores_nothing(s3, document, says):
    message = refused(lambda: s3.put_bucket_policy(Bucket=BUCKET, Policy=document), "MalformedPolicy", 400)
    assert says in message
    refused(lambda: s3.get_bucket_policy(Bucket=BUCKET), "NoSuchBucketPolicy", 404)
    s3.list_objects_v2(Bucket=BUCKET)  # the bucket still answers


def test_put_bucket_policy_takes_what_s3_takes(s3):
    other_account = {"StringEquals": {"aws:PrincipalAccount": "210987654321"}}
    statements = [
        statement(Sid="TLS", Action="s3:*", Resource=[ARN, f"{ARN}/*"], Condition=other_account),
        statement(Action=["s3:DeleteObject", "s3:DeleteObjectVersion"], Condition={"Null": {"s3:x": "true"}}),
        statement(
            Effect="Allow",
            Principal={"AWS": ["arn:aws:iam::210987654321:role/reader", "210987654321"]},
            Action="s3:List*",
            Resource=ARN,
            Condition={"StringLikeIfExists": {"s3:prefix": ["models/*"]}},
        ),
        statement(Effect="Allow", Principal={"Service": "logging.s3.amazonaws.com"}, Action="s3:PutObject"),
    ]  # fmt: skip
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(*statements))
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"][0]["Sid"] == "TLS"


def test_a_malformed_stored_bucket_policy_refuses_requests_and_can_still_be_deleted(s3):
    """A policy stored before the check (or behind it): every request on the bucket is AccessDenied
    naming it, not an HTTP 500, and the policy can be read and deleted to repair the bucket."""
    from moto.s3.models import s3_backends

    s3_backends[iam.ACCOUNT][iam.PARTITION].buckets[BUCKET].policy = policy("x").encode()
    message = refused(lambda: s3.list_objects_v2(Bucket=BUCKET), "AccessDenied", 403)
    assert "not an object" in message
    assert s3.get_bucket_policy(Bucket=BUCKET)["Policy"] == policy("x")
    s3.delete_bucket_policy(Bucket=BUCKET)
    s3.list_objects_v2(Bucket=BUCKET)


@pytest.mark.parametrize(
    ("role_arn", "code", "status"),
    [
        (f"arn:aws:iam::{iam.ACCOUNT}:role/nope", "AccessDenied", 403),
        ("arn:aws:iam::999999999999:role/x", "AccessDenied", 403),
        ("notanarn-notanarn-notanarn", "ValidationError", 400),
        (f"arn:aws:s3:::{BUCKET}/not-a-role", "ValidationError", 400),
    ],
)
def test_assume_role_on_no_such_role_or_no_arn_is_refused_as_sts_refuses_it(aws_env, role_arn, code, status):
    sts = boto3.client("sts")
    message = refused(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="probe"), code, status)
    assert role_arn in message


def test_assume_role_with_an_invalid_session_name_is_a_validation_error(aws_env):
    arn = boto3.client("iam").create_role(
        RoleName="r-session", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )
    sts = boto3.client("sts")
    refused(
        lambda: sts.assume_role(RoleArn=arn["Role"]["Arn"], RoleSessionName="bad name!"),
        "ValidationError",
        400,
    )


def test_assume_role_whose_stored_trust_policy_is_malformed_is_access_denied(aws_env):
    role = boto3.client("iam").create_role(
        RoleName="r-trust", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )
    iam._iam().get_role("r-trust").assume_role_policy_document = '{"Statement": "x"}'
    sts = boto3.client("sts")
    message = refused(
        lambda: sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="probe"), "AccessDenied", 403
    )
    assert "trust policy cannot be evaluated" in message


# --- IAM refuses what IAM refuses (R14B-6) ---------------------------------------------------------


def big_policy(resources: int) -> str:
    resource = [f"arn:aws:s3:::b/{'x' * 100}{i}" for i in range(resources)]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}],
        }
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"AssumeRolePolicyDocument": '{"Statement": "x"}'}, "MalformedPolicyDocument"),
        ({"AssumeRolePolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole"}]})}, "MalformedPolicyDocument"),
        ({"RoleName": "r" * 65}, "ValidationError"),
        ({"RoleName": "bad name!"}, "ValidationError"),
        ({"MaxSessionDuration": 3599}, "ValidationError"),
        ({"MaxSessionDuration": 43201}, "ValidationError"),
        ({"AssumeRolePolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": f"s{i}.amazonaws.com"}, "Action": "sts:AssumeRole"}
            for i in range(40)]})}, "LimitExceeded"),
    ],
)  # fmt: skip
def test_create_role_refuses_what_iam_refuses_and_creates_nothing(aws_env, changes, code):
    client = boto3.client("iam", config=Config(parameter_validation=False))  # as Terraform sends them
    request = {"RoleName": "r-probe", "AssumeRolePolicyDocument": json.dumps(LAMBDA_TRUST)} | changes
    refused(lambda: client.create_role(**request), code, 409 if code == "LimitExceeded" else 400)
    assert not [r for r in client.list_roles()["Roles"] if r["RoleName"] == request["RoleName"]]


def test_policies_over_iams_size_quotas_are_limit_exceeded(aws_env):
    client = boto3.client("iam")
    client.create_role(RoleName="r-quota", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    refused(
        lambda: client.create_policy(PolicyName="big", PolicyDocument=big_policy(60)), "LimitExceeded", 409
    )
    small = client.create_policy(PolicyName="small", PolicyDocument=big_policy(2))["Policy"]["Arn"]
    refused(
        lambda: client.create_policy_version(PolicyArn=small, PolicyDocument=big_policy(60)),
        "LimitExceeded",
        409,
    )
    client.put_role_policy(RoleName="r-quota", PolicyName="a", PolicyDocument=big_policy(50))  # ~6,000
    refused(
        lambda: client.put_role_policy(RoleName="r-quota", PolicyName="b", PolicyDocument=big_policy(50)),
        "LimitExceeded",
        409,
    )
    client.put_role_policy(RoleName="r-quota", PolicyName="a", PolicyDocument=big_policy(80))  # replaces a
    assert client.list_role_policies(RoleName="r-quota")["PolicyNames"] == ["a"]
    refused(lambda: client.update_role(RoleName="r-quota", MaxSessionDuration=50000), "ValidationError", 400)
    refused(
        lambda: client.update_assume_role_policy(RoleName="r-quota", PolicyDocument='{"Statement": "x"}'),
        "MalformedPolicyDocument",
        400,
    )


# --- AssumeRoleWithWebIdentity refuses tokens STS refuses (R14B-23) ------------------------------


@pytest.fixture
def github_role(aws_env) -> str:
    client = boto3.client("iam")
    provider = client.create_open_id_connect_provider(
        Url=principals.ISSUER, ClientIDList=[principals.AUDIENCE], ThumbprintList=["0" * 40]
    )["OpenIDConnectProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [principals.audience_trust(provider)]}
    return client.create_role(RoleName="gh-probe", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def web_identity(role: str, session: str = "sess", **claims):
    now = int(clock.now())
    base = {"iss": principals.ISSUER, "aud": principals.AUDIENCE, "sub": "repo:o/r:ref:refs/heads/main"}
    token = oidc.issuer().sign(base | {"iat": now, "nbf": now, "exp": now + 300} | claims)
    sts = boto3.client("sts")
    return lambda: sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName=session, WebIdentityToken=token
    )


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"exp": "inf"}, "InvalidIdentityToken"),
        ({"exp": float("nan")}, "InvalidIdentityToken"),
        ({"exp": "abc"}, "InvalidIdentityToken"),
        ({"exp": [1]}, "InvalidIdentityToken"),
        ({"exp": True}, "InvalidIdentityToken"),
        ({"exp": None}, "InvalidIdentityToken"),
        ({"exp": 1}, "ExpiredTokenException"),
        ({"iss": "token.actions.githubusercontent.com"}, "InvalidIdentityToken"),
        ({"nbf": 4102444800}, "InvalidIdentityToken"),
        ({"iat": 4102444800}, "InvalidIdentityToken"),
    ],
)
def test_assume_role_with_web_identity_refuses_tokens_sts_refuses(github_role, claims, code):
    with pytest.raises(ClientError) as caught:
        web_identity(github_role, **claims)()
    assert caught.value.response["Error"]["Code"] == code, caught.value.response
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


@pytest.mark.parametrize("session", ["bad session!", "s" * 65])
def test_assume_role_with_web_identity_checks_the_session_name(github_role, session):
    refused(web_identity(github_role, session=session), "ValidationError", 400)


def test_a_valid_github_token_still_assumes_the_role(github_role):
    assert web_identity(github_role)()["Credentials"]["AccessKeyId"]


# --- AssumeRole's session policies and other inputs (R14B-24) -------------------------------------


@pytest.fixture
def probe_role(aws_env) -> str:
    client = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{iam.ACCOUNT}:user/{iam.ADMIN_USER}"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = client.create_role(RoleName="probe-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    lists = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
    client.put_role_policy(RoleName="probe-role", PolicyName="list", PolicyDocument=json.dumps(lists))
    return arn


DENY_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
)


@pytest.mark.parametrize(
    ("changes", "code", "status"),
    [
        ({"Policy": DENY_ALL}, "AccessDenied", 403),
        ({"PolicyArns": [{"arn": "arn:aws:iam::aws:policy/AWSDenyAll"}]}, "AccessDenied", 403),
        ({"Policy": "not json"}, "MalformedPolicyDocument", 400),
        ({"ExternalId": "x" * 2000}, "ValidationError", 400),
        ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, "ValidationError", 400),
        ({"RoleSessionName": "bad session!"}, "ValidationError", 400),
    ],
)
def test_assume_role_with_a_session_policy_or_invalid_inputs_issues_no_session(
    probe_role, changes, code, status
):
    sts = boto3.client("sts", config=Config(parameter_validation=False))
    request = {"RoleArn": probe_role, "RoleSessionName": "scoped"} | changes
    refused(lambda: sts.assume_role(**request), code, status)


def test_assume_role_without_a_session_policy_still_works(probe_role):
    credentials = boto3.client("sts").assume_role(
        RoleArn=probe_role, RoleSessionName="plain", ExternalId="ext-1"
    )
    assert credentials["Credentials"]["AccessKeyId"]


def test_a_trust_policy_with_an_invalid_principal_or_an_identity_policy_with_one_is_malformed(aws_env):
    client = boto3.client("iam")
    bad_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "nope"}, "Action": "sts:AssumeRole"}],
    }
    refused(
        lambda: client.create_role(RoleName="r-nope", AssumeRolePolicyDocument=json.dumps(bad_trust)),
        "MalformedPolicyDocument",
        400,
    )
    client.create_role(RoleName="r-ok", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    named = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}],
    }
    for call in (
        lambda: client.put_role_policy(RoleName="r-ok", PolicyName="p", PolicyDocument=json.dumps(named)),
        lambda: client.create_policy(PolicyName="p", PolicyDocument=json.dumps(named)),
    ):
        assert "should not specify a principal" in refused(call, "MalformedPolicyDocument", 400)


def test_a_trust_policy_naming_the_account_delegates_to_identity_policies(aws_env):
    """The account (its root ARN or id) in a trust policy lets the account's principals whose identity
    policies allow sts:AssumeRole assume the role (issue 27, round 14)."""
    client = boto3.client("iam")
    for name, principal in (("r-root", f"arn:aws:iam::{iam.ACCOUNT}:root"), ("r-account", iam.ACCOUNT)):
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        }
        arn = client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        assert boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName="admin")["Credentials"]
    # A role of the account without an identity policy allowing it is still refused.
    lister = client.create_role(
        RoleName="r-none",
        AssumeRolePolicyDocument=json.dumps(
            LAMBDA_TRUST
            | {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{iam.ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            }
        ),
    )
    session = boto3.client("sts").assume_role(RoleArn=lister["Role"]["Arn"], RoleSessionName="ss")[
        "Credentials"
    ]
    as_role = session_client("sts", session)
    refused(
        lambda: as_role.assume_role(RoleArn=f"arn:aws:iam::{iam.ACCOUNT}:role/r-root", RoleSessionName="ss"),
        "AccessDenied",
        403,
    )


@pytest.mark.parametrize(
    "ghost", [f"arn:aws:iam::{iam.ACCOUNT}:role/does-not-exist", f"arn:aws:iam::{iam.ACCOUNT}:user/ghost"]
)
def test_a_policy_naming_a_role_or_user_that_does_not_exist_is_refused(s3, ghost):
    """AWS resolves a role or user principal when the policy is saved (R14B-42)."""
    grant = statement(Effect="Allow", Principal={"AWS": ghost}, Action="s3:GetObject", Resource=f"{ARN}/*")
    assert "Invalid principal" in refused(
        lambda: s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(grant)), "MalformedPolicy", 400
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ghost}, "Action": "sts:AssumeRole"}],
    }
    client = boto3.client("iam")
    refused(
        lambda: client.create_role(RoleName="tr1", AssumeRolePolicyDocument=json.dumps(trust)),
        "MalformedPolicyDocument",
        400,
    )
    kms = boto3.client("kms")
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ghost}, "Action": "kms:*", "Resource": "*"}],
    }
    refused(
        lambda: kms.create_key(Policy=json.dumps(key_policy), BypassPolicyLockoutSafetyCheck=True),
        "MalformedPolicyDocumentException",
        400,
    )
    # Once the role exists, the same policies are taken.
    client.create_role(RoleName="does-not-exist", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    client.create_user(UserName="ghost")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(grant))


# --- permissions boundaries name an existing policy (R14B-45) --------------------------------------

MISSING_POLICY = f"arn:aws:iam::{iam.ACCOUNT}:policy/nope"
LIST_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
}


def test_a_boundary_naming_no_policy_is_refused(probe_role):
    client = boto3.client("iam")
    refused(
        lambda: client.create_role(
            RoleName="rb1",
            AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
            PermissionsBoundary=MISSING_POLICY,
        ),
        "NoSuchEntity",
        404,
    )
    refused(
        lambda: client.put_role_permissions_boundary(
            RoleName="probe-role", PermissionsBoundary=MISSING_POLICY
        ),
        "NoSuchEntity",
        404,
    )
    assert "PermissionsBoundary" not in client.get_role(RoleName="probe-role")["Role"]


def test_a_role_whose_boundary_policy_is_gone_is_refused_in_s3s_shape_not_a_500(probe_role):
    iam._iam().get_role("probe-role").permissions_boundary_arn = MISSING_POLICY  # stored behind the checks
    session = boto3.client("sts").assume_role(RoleArn=probe_role, RoleSessionName="ss")["Credentials"]
    s3 = session_client("s3", session)
    message = refused(s3.list_buckets, "AccessDenied", 403)
    assert "s3:ListAllMyBuckets" in message and "permissions boundary" in message
