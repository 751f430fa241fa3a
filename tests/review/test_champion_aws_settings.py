"""The champion lookup (gate, report, summary, champion with --champion auto or bucket) names an AWS
setting boto3 cannot use, in one line, instead of botocore's traceback (bad input, round 7, T-a)."""

from __future__ import annotations

import pytest

from textclf.config import AwsParams
from textclf.review import champion

BAD = [
    ("AWS_PROFILE", "nosuch"),
    ("AWS_ENDPOINT_URL", "http://[::1"),
    ("AWS_MAX_ATTEMPTS", "abc"),
]


@pytest.fixture
def clean_aws(monkeypatch, tmp_path) -> None:
    from textclf.awsclient import AWS_SETTINGS

    for name in AWS_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


@pytest.mark.parametrize(("name", "value"), BAD)
def test_the_bucket_lookup_names_the_setting(clean_aws, monkeypatch, name: str, value: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv(name, value)
    with pytest.raises(champion.ChampionError) as refused:
        champion._s3(AwsParams())
    assert name in str(refused.value) and "\n" not in str(refused.value)


def test_auto_names_a_profile_that_is_not_there(clean_aws, monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    with pytest.raises(champion.ChampionError) as refused:
        champion.have_aws_credentials()
    assert "AWS_PROFILE='nosuch'" in str(refused.value)
