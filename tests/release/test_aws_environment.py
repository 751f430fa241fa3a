"""AWS settings of the environment that botocore takes without a word (issue 27, round 7, U-6): a CA
bundle that is not there surfaced only as "Could not connect to the endpoint URL" at the first call,
and AWS_USE_FIPS_ENDPOINT=maybe silently meant false. The shared guard (textclf.awsclient) names
them before any client is made."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf import awsclient
from textclf.config import AwsParams
from textclf.release import promote


@pytest.fixture
def keys(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in awsclient.AWS_SETTINGS:
        monkeypatch.delenv(name, raising=False)


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
