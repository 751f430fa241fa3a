"""The release commands read JSON from S3, the lock table and the endpoint: what they read in a
shape they cannot use is a ReleaseError naming it, never a traceback (issue 27, R14B-19); the smoke
request refuses a score that is not a probability (R14B-20); and a published manifest whose archive
is missing is damage, not "no trained model", so `release-published` fails instead of answering
false, which release.yml reads as "skip the release" (R14B-26)."""

from __future__ import annotations

import hashlib
import io
import json

import boto3
import pytest

from textclf.config import AwsParams
from textclf.release import desired, promote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DEEP = "[" * 100_000
AWS = AwsParams(artifacts_bucket="textclf-artifacts")
PREFIX = f"models/{COMMIT}"


def publish(s3, archive: bool = True, files: dict[str, bytes] | None = None) -> None:
    s3.create_bucket(Bucket="textclf-artifacts")
    manifest = {
        "commit": COMMIT,
        "model_data_url": f"s3://textclf-artifacts/{PREFIX}/model.tar.gz",
        "sha256": "0" * 64,
        "size_bytes": 1,
        "metrics": {},
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in (files or {}).items()},
    }
    if archive:
        s3.put_object(Bucket="textclf-artifacts", Key=f"{PREFIX}/model.tar.gz", Body=b"x")
    for name, body in (files or {}).items():
        s3.put_object(Bucket="textclf-artifacts", Key=f"{PREFIX}/{name}", Body=body)
    s3.put_object(
        Bucket="textclf-artifacts", Key=f"{PREFIX}/manifest.json", Body=json.dumps(manifest).encode()
    )


def test_a_hyperparameter_nested_thousands_deep_is_a_difference_not_a_traceback():
    assert promote.same_value(DEEP, ["a"]) is False
    assert promote.same_value('["a"]', ["a"]) is True


def test_a_test_split_line_nested_thousands_deep_is_named(aws_env):
    s3 = boto3.client("s3")
    publish(s3, files={promote.EVALUATED_NAME: b'{"text": "a", "predicted": "b"}\n' + DEEP.encode() + b"\n"})

    with pytest.raises(promote.ReleaseError, match=rf"{promote.EVALUATED_NAME} line 2: not a JSON object"):
        promote.published_test_split(COMMIT, AWS, s3)


def test_a_manifest_without_its_archive_is_damage_not_an_untrained_commit(aws_env):
    s3 = boto3.client("s3")
    publish(s3, archive=False)

    with pytest.raises(promote.ReleaseError) as refused:
        promote.find_artifact(COMMIT, AWS, s3)

    message = str(refused.value)
    assert message.startswith(f"s3://textclf-artifacts/{PREFIX}/model.tar.gz is missing although")
    assert "no trained model" not in message and "Nothing was released" in message


def test_release_published_fails_on_a_manifest_without_its_archive(aws_env, monkeypatch, capsys):
    s3 = boto3.client("s3")
    publish(s3, archive=False)
    monkeypatch.setenv("TEXTCLF_ARTIFACTS_BUCKET", "textclf-artifacts")

    with pytest.raises(promote.ReleaseError, match="is missing although"):
        desired.published(COMMIT)
    assert "nothing to release" not in capsys.readouterr().err


def test_release_published_still_answers_false_for_a_commit_that_did_not_train(aws_env, monkeypatch):
    boto3.client("s3").create_bucket(Bucket="textclf-artifacts")
    monkeypatch.setenv("TEXTCLF_ARTIFACTS_BUCKET", "textclf-artifacts")

    assert desired.published(COMMIT) is False


class Runtime:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def invoke_endpoint(self, **_):
        return {"Body": io.BytesIO(self.body)}


def answer(score) -> bytes:
    return json.dumps(
        {"predictions": [{"label": "billing", "score": score}], "model_version": COMMIT[:7]}
    ).encode()


@pytest.mark.parametrize(
    "body",
    [DEEP.encode(), b"[1]", b'"text"', b'{"predictions": [1]}', b'{"predictions": "abc"}'],
    ids=["nested", "list", "string", "number-prediction", "string-predictions"],
)
def test_a_smoke_answer_of_another_shape_is_named(body):
    with pytest.raises(promote.ReleaseError, match="smoke request to prod: unexpected answer"):
        promote.smoke_test(Runtime(body), "prod", COMMIT)


@pytest.mark.parametrize(
    "body",
    [
        answer("1e999"),
        answer("0.5"),
        answer(-3),
        answer(7),
        answer(True),
        b'{"predictions": [{"label": "billing", "score": NaN}], "model_version": "0123456"}',
        b'{"predictions": [{"label": "billing", "score": Infinity}], "model_version": "0123456"}',
        b'{"predictions": [{"label": "", "score": 0.5}], "model_version": "0123456"}',
    ],
    ids=["inf-string", "string", "negative", "above-one", "bool", "nan", "infinity", "no-label"],
)
def test_a_smoke_answer_whose_score_is_not_a_probability_is_refused(body):
    with pytest.raises(promote.ReleaseError, match="not a label and a probability from 0 to 1"):
        promote.smoke_test(Runtime(body), "prod", COMMIT)


@pytest.mark.parametrize("score", [0, 0.93, 1])
def test_a_smoke_answer_with_a_probability_passes(score):
    assert promote.smoke_test(Runtime(answer(score)), "prod", COMMIT)["score"] == score


class Lambda:
    def get_function_configuration(self, FunctionName):
        return {"Environment": {"Variables": {"LOCK_TABLE": "locks"}}, "Timeout": 60}

    def get_function_event_invoke_config(self, FunctionName):
        return {"MaximumRetryAttempts": 0}

    def invoke(self, **_):
        return {"StatusCode": 202}


class Table:
    def __init__(self, result: str) -> None:
        self.result = result

    def get_item(self, **_):
        return {"Item": {"attempts": {"N": "1"}, "result_attempt": {"N": "1"}, "result": {"S": self.result}}}


@pytest.mark.parametrize("result", ["not json", "[1]", DEEP, '"ok"'])
def test_a_redeploy_result_that_is_not_an_object_names_the_lock_table_item(result):
    with pytest.raises(promote.ReleaseError) as refused:
        promote.invoke_redeploy(Lambda(), Table(result), "redeploy", {"model_version": COMMIT}, poll_s=0)

    message = str(refused.value)
    assert (
        message.startswith("lock table locks item result/0123456789ab-") and "not the JSON object" in message
    )
