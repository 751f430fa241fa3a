"""The champion: recorded at release in the artifacts bucket (local cloud), read back by the gate,
with main's committed metrics as the fallback before the first release."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime

import boto3
import pytest

from tests.review.conftest import BUCKET, MAIN_EVAL, PR_EVAL
from textclf.config import AwsParams
from textclf.review import champion
from textclf.review.champion import PRODUCTION_KEY, ChampionError

AWS = AwsParams(artifacts_bucket=BUCKET)
RELEASED = "0123456789abcdef0123456789abcdef01234567"


def published(bucket: str, commit: str = RELEASED) -> None:
    """The manifest the publish step writes last: the commit has a published model."""
    body = json.dumps({"commit": commit}).encode()
    boto3.client("s3").put_object(Bucket=bucket, Key=f"models/{commit}/manifest.json", Body=body)


def stored(bucket: str) -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=PRODUCTION_KEY)["Body"].read())


def test_record_then_find_reads_production_from_the_bucket(pr_repo, bucket):
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    published(bucket)
    champion.record(AWS, pr_repo.root / "metrics/eval.json", RELEASED, "macro_f1", now=when)

    record = stored(bucket)
    assert record["model_version"] == RELEASED
    assert record["recorded_at"] == "2026-03-01T12:30:00Z"
    assert record["metrics"]["macro_f1"] == PR_EVAL["macro_f1"]

    lookup = champion.find(AWS, "main", "bucket")
    assert lookup.champion is not None
    assert lookup.champion.origin == "production"
    assert lookup.champion.model_version == RELEASED
    assert lookup.champion.metrics["per_class"] == PR_EVAL["per_class"]
    assert f"s3://{BUCKET}/{PRODUCTION_KEY}" in lookup.note


def test_no_release_yet_falls_back_to_mains_committed_metrics(pr_repo, bucket):
    lookup = champion.find(AWS, "main", "bucket")

    assert lookup.champion is not None
    assert lookup.champion.origin == "main"
    assert lookup.champion.metrics == MAIN_EVAL
    assert "no release recorded yet" in lookup.note
    assert "main:metrics/eval.json" in lookup.note


def test_no_release_and_nothing_on_main_means_no_champion(first_repo, bucket):
    lookup = champion.find(AWS, "main", "bucket")

    assert lookup.champion is None
    assert "no champion" in lookup.note
    assert "judged on thresholds alone" in lookup.note


def test_auto_without_aws_credentials_compares_with_main(pr_repo, no_aws):
    lookup = champion.find(AWS, "main", "auto")

    assert lookup.champion is not None
    assert lookup.champion.origin == "main"
    assert "no AWS credentials" in lookup.note


def test_auto_with_credentials_reads_the_bucket(pr_repo, bucket):
    published(bucket)
    champion.record(AWS, pr_repo.root / "metrics/eval.json", RELEASED, "macro_f1")

    assert champion.find(AWS, "main", "auto").champion.origin == "production"


def test_a_missing_bucket_is_an_error_not_a_silent_fallback(pr_repo, aws_env):
    with pytest.raises(
        ChampionError, match=rf"cannot read s3://{BUCKET}/production/metrics.json.*--champion main"
    ):
        champion.find(AWS, "main", "bucket")


def test_a_malformed_production_record_is_an_error(pr_repo, bucket):
    boto3.client("s3").put_object(Bucket=bucket, Key=PRODUCTION_KEY, Body=b'{"macro_f1": 0.9}')

    with pytest.raises(ChampionError, match="expected an object with a `metrics` object"):
        champion.find(AWS, "main", "bucket")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # production-commit printed it for the workflow as it was
        (b'{"model_version": "$(id)", "metrics": {}}', r"model_version '\$\(id\)' is not a git commit"),
        (b'{"model_version": ["a"], "metrics": {}}', "is not a git commit"),
        (b'{"metrics": {"macro_f1": 0.1}, "metrics": {"macro_f1": 0.99}}', "key 'metrics' is given twice"),
    ],
)
def test_a_production_record_with_a_forged_field_is_an_error(pr_repo, bucket, body, message):
    boto3.client("s3").put_object(Bucket=bucket, Key=PRODUCTION_KEY, Body=body)

    with pytest.raises(ChampionError, match=message):
        champion.find(AWS, "main", "bucket")


def test_an_unknown_base_ref_says_how_to_fetch_it(pr_repo):
    with pytest.raises(ChampionError, match=r"git ref 'release' not found: fetch it first"):
        champion.find(AWS, "release", "main")


def with_billing(**scores) -> dict:
    per_class = {**MAIN_EVAL["per_class"], "billing": {**MAIN_EVAL["per_class"]["billing"], **scores}}
    return {**MAIN_EVAL, "per_class": per_class}


@pytest.mark.parametrize(
    ("version", "metrics", "message"),
    [
        ("HEAD", MAIN_EVAL, "not a full git commit"),
        ("0123ABC", MAIN_EVAL, "not a full git commit"),
        (RELEASED, {**MAIN_EVAL, "macro_f1": math.nan}, "`macro_f1` is missing or not a number from 0 to 1"),
        (RELEASED, {**MAIN_EVAL, "accuracy": 7.0}, "`accuracy` is missing or not a number from 0 to 1"),
        (RELEASED, {**MAIN_EVAL, "accuracy": 10**400}, "`accuracy` is missing or not a number from 0 to 1"),
        (RELEASED, {**MAIN_EVAL, "macro_f1": -0.5}, "`macro_f1` is missing or not a number from 0 to 1"),
        (RELEASED, {"per_class": {}}, "`accuracy` is missing"),
        (RELEASED, {**MAIN_EVAL, "per_class": [1]}, "per_class must be an object of classes"),
        (
            RELEASED,
            with_billing(recall=3),
            r"per_class.billing.recall is not",
        ),
        (
            RELEASED,
            with_billing(support=-1),
            r"support must be a whole number",
        ),
    ],
)
def test_record_refuses_bad_input_and_writes_nothing(pr_repo, bucket, version, metrics, message):
    pr_repo.write_json("metrics/eval.json", metrics)

    with pytest.raises(ChampionError, match=message):
        champion.record(AWS, pr_repo.root / "metrics/eval.json", version, "macro_f1")

    listing = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="production/")
    assert listing.get("KeyCount", 0) == 0


def test_record_without_metrics_file_names_the_file(pr_repo, bucket):
    with pytest.raises(ChampionError, match=r"metrics/missing\.json: not found"):
        champion.record(AWS, pr_repo.root / "metrics/missing.json", RELEASED, "macro_f1")


@pytest.mark.parametrize(
    ("committed", "message"),
    [
        ("[]", "expected a JSON object, not list"),
        ('"x"', "expected a JSON object, not str"),
        ('{"macro_f1": 0.1, "macro_f1": 0.99}', "key 'macro_f1' is given twice"),
    ],
)
def test_a_committed_champion_that_is_not_an_object_is_an_error_not_a_first_pr(
    tmp_path, monkeypatch, committed, message
):
    # Taken as absent, the gate judged on thresholds alone: a broken champion skipped the comparison.
    run = lambda *args: subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "main")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/eval.json").write_text(committed, encoding="utf-8")
    run("add", "metrics/eval.json")
    run("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "metrics")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ChampionError, match=rf"main:metrics/eval.json: {message}"):
        champion.find(AwsParams(), "main", "main")
