"""The serving image's own S3 client (textclf.serving.fetch) and the AWS settings it reads (issue 27,
round 8, T-e): an endpoint that is not a URL, a region or a key a request cannot carry were
tracebacks from urllib and http.client; each is now one message naming the variable, before any
request. The container credentials URL is taken only where AWS's SDKs take it ("Container
credential provider", AWS SDKs and Tools Reference Guide): urllib opened file:// and any host."""

from __future__ import annotations

import subprocess
import sys

import pytest

from textclf.serving import fetch

DIGEST = "ab" * 32
URL = "s3://textclf-artifacts/models/a/model.tar.gz"
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret/key+1"}


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("AWS_ENDPOINT_URL", "http://[::1", "AWS_ENDPOINT_URL='http://[::1' is not a URL"),
        ("AWS_ENDPOINT_URL", "notaurl", "AWS_ENDPOINT_URL='notaurl' is not a URL"),
        (
            "AWS_ENDPOINT_URL",
            "http://localhost:99999",
            "AWS_ENDPOINT_URL='http://localhost:99999' is not a URL",
        ),
        ("AWS_ENDPOINT_URL", "http://local\nhost:4566", "AWS_ENDPOINT_URL='http://local\\nhost:4566' is not"),
        ("AWS_ENDPOINT_URL_S3", "ftp://host", "AWS_ENDPOINT_URL_S3='ftp://host' is not a URL"),
        ("AWS_REGION", "us\neast", "AWS_REGION='us\\neast' is not an AWS region name"),
        ("AWS_REGION", "us-east-1/../x", "AWS_REGION='us-east-1/../x' is not an AWS region name"),
        ("AWS_DEFAULT_REGION", "US East", "AWS_DEFAULT_REGION='US East' is not an AWS region name"),
        ("AWS_ACCESS_KEY_ID", "x\ny", "AWS_ACCESS_KEY_ID holds a space, a line break"),
        ("AWS_SECRET_ACCESS_KEY", "sécret", "AWS_SECRET_ACCESS_KEY holds a space"),
        ("AWS_SESSION_TOKEN", "tok en", "AWS_SESSION_TOKEN holds a space"),
    ],
)
def test_a_setting_the_request_cannot_carry_is_named_before_any_request(tmp_path, setting, value, said):
    """Before: ValueError (Invalid IPv6 URL, unknown url type, Invalid header value) or
    http.client.InvalidURL (control characters) as a traceback."""
    env = {**KEYS, "AWS_REGION": "us-east-1", setting: value}
    if setting == "AWS_DEFAULT_REGION":
        del env["AWS_REGION"]

    with pytest.raises(fetch.FetchError, match=r"^cannot fetch the model: ") as raised:
        fetch.fetch(tmp_path / "model", URL, DIGEST, env)

    assert said in str(raised.value)
    assert not (tmp_path / "model").exists()


def test_a_secret_is_never_echoed(tmp_path):
    env = {**KEYS, "AWS_SECRET_ACCESS_KEY": "top-secret\nvalue"}
    with pytest.raises(fetch.FetchError) as raised:
        fetch.fetch(tmp_path / "model", URL, DIGEST, env)
    assert "AWS_SECRET_ACCESS_KEY holds" in str(raised.value)
    assert "top-secret" not in str(raised.value)


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "ftp://169.254.170.2/creds",
        "http://evil.example/creds",
        "http://10.0.0.5/creds",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1@evil.example/creds",
        "http://[::1",
    ],
)
def test_a_credentials_url_aws_sdks_refuse_is_refused_naming_the_variable(tmp_path, uri):
    """Before: urllib opened it (file:///etc/passwd was read as the credentials' JSON)."""
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t"}
    with pytest.raises(fetch.FetchError, match=r"AWS_CONTAINER_CREDENTIALS_FULL_URI=.* is not a container"):
        fetch.fetch(tmp_path / "model", URL, DIGEST, env)


def test_a_relative_credentials_uri_stays_on_the_ecs_host(tmp_path):
    env = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "@evil.example/creds"}
    assert fetch._credentials_url(env) == "http://169.254.170.2/@evil.example/creds"


@pytest.mark.parametrize(
    "uri",
    [
        "http://169.254.170.2/v2/credentials/x",
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
        "http://127.0.0.1:51679/creds",
        "http://127.1.2.3/creds",
        "http://[::1]:8080/creds",
        "http://localhost/creds",
        "https://credentials.example.com/creds",
    ],
)
def test_the_credentials_urls_aws_sdks_take_are_taken(uri):
    assert fetch._credentials_url({"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri}) == uri


def test_serve_says_which_setting_and_exits_2(tmp_path):
    """The reproduction of T-e: `textclf serve` with the model URL and AWS_ENDPOINT_URL='http://[::1'."""
    command = [
        sys.executable,
        "-m",
        "textclf.cli",
        "serve",
        "--model-dir",
        str(tmp_path / "m"),
        "--port",
        "0",
    ]
    env = {**KEYS, "PATH": "", "TEXTCLF_MODEL_URL": URL, "TEXTCLF_MODEL_SHA256": DIGEST}
    refused = subprocess.run(
        command,
        env={**env, "AWS_ENDPOINT_URL": "http://[::1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2, refused.stderr
    assert "cannot fetch the model: AWS_ENDPOINT_URL='http://[::1' is not a URL" in refused.stderr
    assert "Traceback" not in refused.stderr
