"""An AWS setting of the environment that boto3 cannot use is a one-line error naming it, not a
botocore traceback (issue 27, round 6, T3: AWS_PROFILE=nosuch textclf publish printed
ProfileNotFound's traceback; the same for staging-check, bake, promote, release-check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from textclf import awsclient, cli
from textclf.config import AwsParams
from textclf.release import promote

BAD = [
    ("AWS_PROFILE", "nosuch"),
    ("AWS_ENDPOINT_URL", "notaurl"),
    ("AWS_ENDPOINT_URL", "http://[::1"),
    ("AWS_MAX_ATTEMPTS", "abc"),
    ("AWS_MAX_ATTEMPTS", "-1"),
    ("AWS_RETRY_MODE", "bogus"),
]


@pytest.fixture
def keys(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in awsclient.AWS_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_setting_boto3_refuses_is_named(keys, monkeypatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(promote.ReleaseError) as refused:
        promote.aws_client("s3", AwsParams())
    message = str(refused.value)
    assert f"{name}={value!r}" in message and "correct or unset it" in message, message


@pytest.mark.parametrize("name", ["AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"])
def test_a_file_boto3_cannot_parse_is_named(keys, monkeypatch, tmp_path: Path, name: str) -> None:
    broken = tmp_path / "credentials"
    broken.write_text("[default\naws_access_key_id\n", encoding="utf-8")
    monkeypatch.setenv(name, str(broken))
    with pytest.raises(promote.ReleaseError, match=f"{name}='{broken}'"):
        promote.aws_client("s3", AwsParams())


# Each example makes a boto3 session and client (a quarter of a second): the edges of int() are
# explicit examples, and 20 random values look for more.
@settings(max_examples=20, deadline=None)
@given(value=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=6))
@example("0")
@example("-1")
@example("1")
@example("+3")
@example("007")
@example("1_0")
@example("1.0")
@example("0x10")
@example("abc")
def test_any_max_attempts_that_is_no_positive_whole_number_is_named(value: str) -> None:
    try:
        usable = int(value) >= 1
    except ValueError:
        usable = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_MAX_ATTEMPTS", value)
        if usable:
            promote.aws_client("s3", AwsParams())
            return
        with pytest.raises(promote.ReleaseError) as refused:
            promote.aws_client("s3", AwsParams())
        assert f"AWS_MAX_ATTEMPTS={value!r}" in str(refused.value), refused.value


def test_the_command_answers_in_one_line(keys, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    argv = ["promote", "--commit", "2" * 40, "--function", "redeploy", "--endpoint", "textclf"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "AWS_PROFILE='nosuch'" in err and "Traceback" not in err, err


def test_the_retrain_import_names_the_setting_too(keys, monkeypatch) -> None:
    from textclf.config import DataParams
    from textclf.release import retrain

    monkeypatch.setenv("AWS_RETRY_MODE", "bogus")
    with pytest.raises(retrain.RetrainError, match=r"AWS_RETRY_MODE='bogus' .*\(nothing was imported\)"):
        retrain.import_incoming(AwsParams(), DataParams())


# Settings botocore takes without a word (issue 27, round 7, U-6): a CA bundle that is not there
# surfaced only as "Could not connect to the endpoint URL" at the first call, and
# AWS_USE_FIPS_ENDPOINT=maybe silently meant false.


@pytest.mark.parametrize("where", ["/nonexistent", "folder", ""])
def test_a_ca_bundle_that_is_no_readable_file_is_named(keys, monkeypatch, tmp_path: Path, where: str) -> None:
    bundle = {"folder": str(tmp_path), "": str(tmp_path / "gone.pem")}.get(where, where)
    monkeypatch.setenv("AWS_CA_BUNDLE", bundle)

    with pytest.raises(promote.ReleaseError) as refused:
        promote.aws_client("s3", AwsParams())

    message = str(refused.value)
    assert f"AWS_CA_BUNDLE={bundle!r} is not a readable file" in message, message
    assert "Could not connect" not in message


def test_a_ca_bundle_that_is_a_file_makes_a_client(keys, monkeypatch, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))

    assert awsclient.aws_client("s3", "us-east-1") is not None


@pytest.mark.parametrize("name", awsclient.BOOLEAN_SETTINGS)
@pytest.mark.parametrize("value", ["maybe", "1", "yes", "on", "tru"])
def test_a_fips_or_dual_stack_switch_that_is_not_true_or_false_is_named(
    keys, monkeypatch, name, value
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(awsclient.AwsSettingError, match=rf"{name}='{value}' must be true or false"):
        awsclient.aws_client("s3", "us-east-1")


@pytest.mark.parametrize("value", ["true", "false", "TRUE", "False"])
def test_true_or_false_in_any_case_is_taken(keys, monkeypatch, value) -> None:
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", value)

    client = awsclient.aws_client("s3", "us-east-1")

    assert ("fips" in client.meta.endpoint_url) == (value.lower() == "true")
