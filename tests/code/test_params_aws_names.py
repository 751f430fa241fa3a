"""aws.* in params.yaml and its TEXTCLF_* overrides name S3 buckets and a Region: a value S3 or
AWS refuses (`s3://my-bucket`, `a b`, `UPPER_case`, an empty name, `../../x` as Region) loaded
without a word and failed at the first AWS call in botocore's words, or fell through to a default."""

from __future__ import annotations

import pytest
import yaml

from tests.code.test_params_folder_names import TEMPLATE, with_value
from textclf.config import ParamsError, parse_params


def with_aws(key: str, value: str) -> dict:
    return with_value("aws", key, value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("artifacts_bucket", "s3://textclf-artifacts"),
        ("artifacts_bucket", ""),
        ("artifacts_bucket", "a/b"),
        ("artifacts_bucket", "UPPER_case"),
        ("data_bucket", "x y"),
        ("data_bucket", "ab"),
        ("models_bucket", "-leading-hyphen"),
        ("region", ""),
        ("region", "../../x"),
        ("region", "us-east-1; rm -rf /"),
    ],
)
def test_names_aws_refuses_are_refused_in_params(key, value):
    with pytest.raises(ParamsError, match=rf"aws\.{key}: must be an (S3 bucket name|AWS Region code)"):
        parse_params(with_aws(key, value))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TEXTCLF_ARTIFACTS_BUCKET", "s3://x"),
        ("TEXTCLF_MODELS_BUCKET", "a b"),
        ("TEXTCLF_DATA_BUCKET", "UPPER"),
        ("TEXTCLF_AWS_REGION", "../../evil"),
    ],
)
def test_an_environment_override_is_refused_naming_the_variable(monkeypatch, variable, value):
    params = parse_params(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ParamsError, match=rf"environment variable {variable}=.*: must be an"):
        params.aws.resolved()


def test_the_template_and_usual_names_pass(monkeypatch):
    for variable in (
        "TEXTCLF_ARTIFACTS_BUCKET",
        "TEXTCLF_MODELS_BUCKET",
        "TEXTCLF_DATA_BUCKET",
        "TEXTCLF_AWS_REGION",
    ):
        monkeypatch.delenv(variable, raising=False)
    params = parse_params(with_aws("models_bucket", ""))
    resolved = params.aws.resolved()
    assert resolved.models_bucket == resolved.artifacts_bucket == "textclf-artifacts"
    monkeypatch.setenv("TEXTCLF_ARTIFACTS_BUCKET", "textclf-prod-artifacts-123456789012")
    monkeypatch.setenv("TEXTCLF_AWS_REGION", "us-gov-west-1")
    assert params.aws.resolved().region == "us-gov-west-1"


def test_a_bad_artifacts_bucket_override_is_named_once(monkeypatch):
    params = parse_params(with_aws("models_bucket", ""))
    monkeypatch.delenv("TEXTCLF_MODELS_BUCKET", raising=False)
    monkeypatch.setenv("TEXTCLF_ARTIFACTS_BUCKET", "a b")
    with pytest.raises(ParamsError) as refused:
        params.aws.resolved()
    assert str(refused.value).count("'a b'") == 1
    assert str(refused.value).startswith("environment variable TEXTCLF_ARTIFACTS_BUCKET='a b': must be")
