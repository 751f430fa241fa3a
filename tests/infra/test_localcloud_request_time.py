"""Signed requests are refused when their date is more than 15 minutes from now (RequestExpired;
S3: RequestTimeTooSkewed), and the API front door refuses an expired session as every other call
does (R13B-18, R13B-19): a captured request replayed later, a client with a wrong clock, or a stale
session passed the local cloud and fails on AWS."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from textclf.localcloud import apigateway, clock, iam

ADMIN = f"arn:aws:iam::{iam.ACCOUNT}:user/{iam.ADMIN_USER}"


def shifted(monkeypatch, seconds: float) -> None:
    """Sign as a client whose clock is `seconds` off (or a request captured that long ago)."""
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() + dt.timedelta(seconds=seconds))


@pytest.mark.parametrize("seconds", [-3600, -30 * 86_400, 3600])
def test_a_request_dated_far_from_now_is_refused(aws_env, monkeypatch, seconds):
    sts, s3 = boto3.client("sts"), boto3.client("s3")
    s3.create_bucket(Bucket="dated")
    shifted(monkeypatch, seconds)
    with pytest.raises(ClientError) as caught:
        sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "RequestExpired"
    assert "15 minutes" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket="dated")
    assert caught.value.response["Error"]["Code"] == "RequestTimeTooSkewed"


def test_a_request_within_fifteen_minutes_passes(aws_env, monkeypatch):
    shifted(monkeypatch, -600)
    boto3.client("sts").get_caller_identity()
    shifted(monkeypatch, 1200)  # -600 + 1200: ten minutes ahead
    boto3.client("sts").get_caller_identity()


def test_the_time_check_reads_real_time_not_the_advanced_clock(aws_env):
    """Tests advance the local cloud's clock to expire sessions; the administrator's calls, signed
    with real time, still pass."""
    clock.advance(3 * 86_400)
    boto3.client("sts").get_caller_identity()


def signed_call(credentials: Credentials, region: str = "us-east-1") -> apigateway.Call:
    url = "http://127.0.0.1/_aws/execute-api/api1/predict"
    request = AWSRequest(method="POST", url=url, data=b"{}", headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return apigateway.Call(
        api_id="api1",
        region=region,
        method="POST",
        path="/predict",
        raw_query="",
        headers={**dict(request.headers), "Host": "127.0.0.1"},  # werkzeug passes Host, which is signed
        body=b"{}",
        source_ip="127.0.0.1",
        host="127.0.0.1",
    )


def test_the_front_door_refuses_an_expired_session_and_a_stale_date(aws_env, monkeypatch):
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:AssumeRole"}],
    }
    role = boto3.client("iam").create_role(RoleName="caller", AssumeRolePolicyDocument=json.dumps(trust))
    session = boto3.client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="app", DurationSeconds=900
    )["Credentials"]
    keys = Credentials(session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    path = "/_aws/execute-api/api1/predict"

    assert ":assumed-role/caller/app" in apigateway._authenticate(signed_call(keys), path)
    clock.advance(1000)
    with pytest.raises(PermissionError, match="security token included in the request is expired"):
        apigateway._authenticate(signed_call(keys), path)

    admin = Credentials(aws_env["AWS_ACCESS_KEY_ID"], aws_env["AWS_SECRET_ACCESS_KEY"])
    shifted(monkeypatch, -3600)
    with pytest.raises(PermissionError, match="Signature expired: the request arrived more than 15 minutes"):
        apigateway._authenticate(signed_call(admin), path)
