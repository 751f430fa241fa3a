"""Session credentials expire as on AWS: a call signed with a session past its DurationSeconds is
refused (ExpiredTokenException; S3: ExpiredToken), on the local cloud's clock, which a test
advances instead of waiting; STS refuses a session longer than the role's MaxSessionDuration,
shorter than 900 s, or longer than an hour when a role's session assumes another role."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from textclf.config import parse_params
from textclf.localcloud import clock, iam, principals
from textclf.training import sagemaker as sagemaker_backend

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET = "textclf-artifacts-sessions"
ADMIN = f"arn:aws:iam::{iam.ACCOUNT}:user/{iam.ADMIN_USER}"


def client(service: str, credentials: dict[str, str], **config):
    return boto3.client(
        service,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=Config(**config) if config else None,
    )


def refused(call, code: str) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == code, caught.value.response
    return str(caught.value)


@pytest.fixture
def pr_role(aws_env) -> str:
    """A role like the PR role: GitHub's tokens may assume it for up to 12 hours; it lists a bucket."""
    iam_client = boto3.client("iam")
    provider = iam_client.create_open_id_connect_provider(
        Url=principals.ISSUER, ClientIDList=[principals.AUDIENCE], ThumbprintList=["0" * 40]
    )["OpenIDConnectProviderArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            principals.audience_trust(provider),
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:AssumeRole"},
        ],
    }
    arn = iam_client.create_role(
        RoleName="pr", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=43200
    )["Role"]["Arn"]
    lists = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        ],
    }
    iam_client.put_role_policy(RoleName="pr", PolicyName="list", PolicyDocument=json.dumps(lists))
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return arn


def works(credentials: dict[str, str]) -> None:
    client("sts", credentials).get_caller_identity()
    client("s3", credentials).list_objects_v2(Bucket=BUCKET)


def expired(credentials: dict[str, str]) -> None:
    refused(lambda: client("sts", credentials).get_caller_identity(), "ExpiredTokenException")
    refused(lambda: client("s3", credentials).list_objects_v2(Bucket=BUCKET), "ExpiredToken")


def test_a_job_that_outlives_its_session_fails_and_one_that_asked_for_enough_passes(pr_role):
    """The pr workflow's train job follows a Spot job for up to max_wait_seconds. With
    configure-aws-credentials' default session (1 hour) its calls fail once the hour is over, as on
    GitHub; with the role-duration-seconds the workflow asks for (sagemaker.session_seconds) they do
    not, until that session ends too."""
    params = parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8")))
    job = principals.pull_request("acme/text-classifier")
    asked = sagemaker_backend.session_seconds(params)
    longest_job = params.sagemaker.max_wait_seconds
    assert longest_job > 3600, "params.yaml's Spot wait no longer outlives a default session"

    default = principals.assume(pr_role, job)  # no role-duration-seconds: 3600 s
    enough = principals.assume(pr_role, job, duration_s=asked)
    works(default)
    works(enough)

    # The local clock is the wall clock plus what the test advanced: a margin of 10 s for the time
    # the calls themselves take on a loaded machine (at 3599 s one such second expired it).
    clock.advance(3590)
    works(default)
    clock.advance(10)  # the default session's hour is over
    expired(default)
    works(enough)

    clock.advance(longest_job - 3600)  # the longest the job may take: still inside the asked session
    works(enough)
    clock.advance(asked - longest_job)
    expired(enough)


def test_the_answer_names_the_expiry_on_the_same_clock(pr_role):
    clock.advance(86400)
    before = clock.now()
    answer = boto3.client("sts").assume_role(RoleArn=pr_role, RoleSessionName="session", DurationSeconds=900)
    expiration = answer["Credentials"]["Expiration"].timestamp()
    assert before + 900 - 5 <= expiration <= clock.now() + 900 + 5
    credentials = {
        "AWS_ACCESS_KEY_ID": answer["Credentials"]["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": answer["Credentials"]["SecretAccessKey"],
        "AWS_SESSION_TOKEN": answer["Credentials"]["SessionToken"],
    }
    works(credentials)
    clock.advance(900)
    expired(credentials)


def test_the_administrators_keys_do_not_expire(aws_env):
    clock.advance(10 * 86400)
    boto3.client("sts").get_caller_identity()


def test_the_clock_is_advanced_over_http_and_reset_with_the_cloud(local_cloud, aws_env):
    answer = clock.advance_remote(local_cloud.url, 120)
    assert answer["offset_seconds"] == 120
    with pytest.raises(Exception, match="400"):
        clock.advance_remote(local_cloud.url, -1)
    local_cloud.reset()
    assert clock.offset() == 0


def test_sts_refuses_a_session_the_role_does_not_allow(pr_role):
    job = principals.pull_request("acme/text-classifier")
    with pytest.raises(ClientError, match="MaxSessionDuration"):
        principals.assume(pr_role, job, duration_s=43201)
    sts = boto3.client("sts")
    message = refused(
        lambda: sts.assume_role(RoleArn=pr_role, RoleSessionName="session", DurationSeconds=43201),
        "ValidationError",
    )
    assert "MaxSessionDuration" in message
    # Below the 900 s minimum (botocore checks it too: this client does not, as another SDK may not).
    unchecked = boto3.client("sts", config=Config(parameter_validation=False))
    message = refused(
        lambda: unchecked.assume_role(RoleArn=pr_role, RoleSessionName="session", DurationSeconds=899),
        "ValidationError",
    )
    assert "greater than or equal to 900" in message
    # Role chaining: a session of a role assuming a role gets one hour at most.
    iam_client = boto3.client("iam")
    trust = iam_client.get_role(RoleName="pr")["Role"]["AssumeRolePolicyDocument"]
    trust["Statement"].append({"Effect": "Allow", "Principal": {"AWS": pr_role}, "Action": "sts:AssumeRole"})
    iam_client.update_assume_role_policy(RoleName="pr", PolicyDocument=json.dumps(trust))
    session = principals.assume(pr_role, job, duration_s=7200)
    chained = client("sts", session)
    message = refused(
        lambda: chained.assume_role(RoleArn=pr_role, RoleSessionName="chained", DurationSeconds=3601),
        "ValidationError",
    )
    assert "role chaining" in message
    assert chained.assume_role(RoleArn=pr_role, RoleSessionName="chained", DurationSeconds=3600)[
        "Credentials"
    ]


def test_a_token_issued_after_the_clock_moved_is_accepted_and_its_session_expires(pr_role):
    clock.advance(7 * 86400)
    session = principals.assume(pr_role, principals.pull_request("acme/text-classifier"))
    works(session)
    clock.advance(3600)
    expired(session)


@pytest.mark.parametrize("body", [b'{"advance_seconds": NaN}', b'{"advance_seconds": Infinity}',
                                  b'{"advance_seconds": 1e400}', b'{"advance_seconds": 1e12}', b"[]",
                                  b'{"advance_seconds": "10"}', b'{"advance_seconds": true}'])  # fmt: skip
def test_the_clock_control_takes_only_a_finite_forward_step(local_cloud, aws_env, body):
    """R13B-27: NaN, an infinity or 1e400 left the offset NaN and every signed call a 500; `[]` was
    a 500. Each is a 400 naming advance_seconds or the form, and the clock is unchanged."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        local_cloud.url + clock.CONTROL_PATH,
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    assert b"advance_seconds" in caught.value.read()
    assert clock.offset() == 0
    boto3.client("sts").get_caller_identity()
