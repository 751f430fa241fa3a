"""The redeploy Lambda against malformed and foreign events (issue 14 point 5): every shape ends in
a `rejected` result with a reason, never an exception (Lambda would retry an asynchronous event),
and a model package of another account or group is never deployed.

Grouped: the Model Registry event's shapes and owners through the handler on the local cloud;
DescribeModelPackage answers of odd shapes; the `textclf redeploy` command's event file; and a
property-based test of the event parser over arbitrary JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redeploy_world import ENDPOINT, archive_sha256, artifact_url, lambda_environment

from textclf.release import redeploy

COMMIT = "a1b2c3d4e5f6a7b8c9d0"
ACCOUNT = "123456789012"
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{ENDPOINT}/1"
OTHER_ACCOUNT_ARN = ARN.replace(ACCOUNT, "999999999999")
OTHER_GROUP_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/other-group/1"
SHA = "ab" * 32


def registry_event(detail_changes: dict | None = None, **event_changes) -> dict:
    detail = {
        "ModelPackageGroupName": ENDPOINT,
        "ModelPackageArn": ARN,
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {"Containers": [{"Image": "x", "ModelDataUrl": artifact_url(COMMIT)}]},
        "CustomerMetadataProperties": {"sha256": SHA},
        **(detail_changes or {}),
    }
    return {
        "version": "0",
        "account": ACCOUNT,
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": detail,
        **event_changes,
    }


def spec(containers) -> dict:
    return {"InferenceSpecification": {"Containers": containers}}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        # The package's published digest: required, 64 lowercase hex digits.
        # (the detail names none, and no package of that ARN can be read)
        (registry_event({"CustomerMetadataProperties": None}), "has no CustomerMetadataProperties.sha256"),
        (registry_event({"CustomerMetadataProperties": {}}), "has no CustomerMetadataProperties.sha256"),
        (registry_event({"CustomerMetadataProperties": "x"}), "CustomerMetadataProperties must be an object"),
        (
            registry_event({"CustomerMetadataProperties": {"sha256": SHA.upper()}}),
            "CustomerMetadataProperties.sha256 'ABAB",
        ),
        (registry_event({"CustomerMetadataProperties": {"sha256": 7}}), "must be 64 lowercase hex digits"),
        # Shapes inside InferenceSpecification (each raised AttributeError, KeyError or TypeError).
        (registry_event({"InferenceSpecification": "s3://x"}), "InferenceSpecification must be an object"),
        (registry_event({"InferenceSpecification": []}), "InferenceSpecification must be an object"),
        (registry_event({"InferenceSpecification": 7}), "InferenceSpecification must be an object"),
        (registry_event(spec({"ModelDataUrl": "s3://x"})), "Containers must be a list of objects"),
        (registry_event(spec(5)), "Containers must be a list of objects"),
        (registry_event(spec("ab")), "Containers must be a list of objects"),
        (registry_event(spec([["s3://x"]])), "Containers must be a list of objects"),
        (registry_event(spec([None])), "Containers must be a list of objects"),
        (registry_event(spec([{"ModelDataUrl": 42}])), "ModelDataUrl must be a string, not int"),
        (registry_event(spec([{"ModelDataUrl": ["s3://x"]}])), "ModelDataUrl must be a string, not list"),
        (registry_event(spec([{}, {}])), "holds 2 containers; the endpoint serves exactly one"),
        # The package ARN and its owner.
        (registry_event({"ModelPackageArn": "not-an-arn"}), "is not a model package version ARN"),
        (registry_event({"ModelPackageArn": ARN + "/extra"}), "is not a model package version ARN"),
        (registry_event({"ModelPackageArn": "x" * 5000}), "is not a model package version ARN"),
        (registry_event({"ModelPackageArn": OTHER_ACCOUNT_ARN}), "the ARN names account '999999999999'"),
        (registry_event(account="999999999999"), "the event names account '999999999999'"),
        (registry_event({"ModelPackageArn": OTHER_GROUP_ARN}), "the ARN names group 'other-group'"),
        (registry_event({"ModelPackageGroupName": "other-group"}), "the event names group 'other-group'"),
        (registry_event({"ModelPackageArn": None}), "no ModelPackageArn"),
        (registry_event({"ModelApprovalStatus": ["Approved"]}), "not 'Approved'"),
        # The envelope.
        (registry_event(detail="Approved"), "no ModelPackageArn"),
        (registry_event(source=["aws.sagemaker"]), "only 'SageMaker Model Package State Change'"),
        ({"detail-type": None}, "only 'SageMaker Model Package State Change'"),
        ({1: 2}, "unrecognised event"),
        (None, "must be a JSON object, not NoneType"),
        ("s3://bucket/models/x/model.tar.gz", "must be a JSON object, not str"),
        ({"model_data_url": artifact_url(COMMIT), "model_version": {"a": 1}}, "does not match the commit"),
        ({"model_data_url": "s3://" + "x" * 10_000}, "outside the artifacts bucket"),
    ],
)  # fmt: skip
def test_a_malformed_or_foreign_event_is_rejected_with_a_reason(world, event, reason):
    world.upload(COMMIT)

    result = redeploy.handler(event, None)

    assert result["status"] == "rejected" and result["ok"] is False, result
    assert reason in result["reason"]
    assert len(result["reason"]) < 1000  # a hostile value is cut, not echoed whole
    assert world.model_names() == [] and world.config_names() == []


def test_the_registry_event_of_this_account_and_group_still_deploys(world):
    world.upload(COMMIT)
    digest = {"CustomerMetadataProperties": {"sha256": archive_sha256(COMMIT)}}
    result = redeploy.handler(registry_event(digest), None)
    assert result["status"] == "deployed", result


def test_a_role_arn_without_an_account_is_a_misconfiguration(world, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "textclf-sagemaker")
    result = redeploy.handler(registry_event(), None)
    assert result["status"] == "misconfigured" and "SAGEMAKER_ROLE_ARN" in result["reason"]


# --- what DescribeModelPackage answers ----------------------------------------------------------


class Registry:
    """A SageMaker client whose DescribeModelPackage returns a given answer (shapes the real API
    would not send today, but the Lambda must not crash on)."""

    class exceptions:
        ClientError = RuntimeError

    def __init__(self, answer) -> None:
        self.answer = answer

    def describe_model_package(self, ModelPackageName: str):
        return self.answer


def lambda_settings() -> redeploy.Settings:
    return redeploy.Settings.from_env(lambda_environment(f"arn:aws:iam::{ACCOUNT}:role/textclf-sagemaker"))


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({}, "names no ModelDataUrl"),
        ({"InferenceSpecification": None}, "names no ModelDataUrl"),
        ({"InferenceSpecification": "x"}, f"model package {ARN}: InferenceSpecification must be an object"),
        (spec({"a": 1}), "Containers must be a list of objects"),
        (spec([]), "holds 0 containers"),
        (spec([{"ModelDataUrl": 1.5}]), "ModelDataUrl must be a string"),
        (spec([{"ModelDataUrl": "s3://elsewhere/models/x/model.tar.gz"}]), "outside the artifacts bucket"),
        # The detail names no digest and the registry none either (or one of another shape).
        ({**spec([{"ModelDataUrl": artifact_url(COMMIT)}])}, "has no CustomerMetadataProperties.sha256"),
        (
            {**spec([{"ModelDataUrl": artifact_url(COMMIT)}]), "CustomerMetadataProperties": {"sha256": "x"}},
            f"model package {ARN}: CustomerMetadataProperties.sha256 'x' must be 64 lowercase hex",
        ),
    ],
)
def test_odd_answers_from_the_model_registry_are_rejected(answer, reason):
    event = registry_event()
    del event["detail"]["InferenceSpecification"]
    if "CustomerMetadataProperties" in reason:
        del event["detail"]["CustomerMetadataProperties"]
    with pytest.raises(redeploy.Rejected, match=re.escape(reason)):
        redeploy.parse_event(event, lambda_settings(), Registry(answer))


# --- the command line ---------------------------------------------------------------------------


def redeploy_cli(event_file: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", "redeploy", "--event", str(event_file)],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot be read (No such file or directory); pass a JSON event file"),
        (b"{not json", "not JSON"),
        (b'{"model_data_url": "caf\xe9"}', "not JSON"),
        (b"[" * 100_000, "nested too deeply|not JSON"),
        ("folder", "cannot be read"),
    ],
)
def test_an_event_file_that_cannot_be_read_is_one_rejection(tmp_path, content, reason):
    event_file = tmp_path / "event.json"
    if content == "folder":
        event_file.mkdir()
    elif content is not None:
        event_file.write_bytes(content)

    done = redeploy_cli(event_file)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "rejected"
    assert any(part in result["reason"] for part in reason.split("|")), result


# --- any JSON at all ----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["source", "detail-type", "detail", "account", "model_data_url", "model_version", "ModelPackageArn",
     "ModelApprovalStatus", "InferenceSpecification", "Containers", "ModelDataUrl", "ModelPackageGroupName",
     "CustomerMetadataProperties", "sha256"]
)  # fmt: skip


@st.composite
def events(draw) -> object:
    """Real events with one part swapped for arbitrary JSON, or arbitrary JSON with the real keys."""
    if draw(st.booleans()):
        event = registry_event()
        if draw(st.booleans()):
            del event["detail"]["InferenceSpecification"]
        where = draw(st.sampled_from(["event", "detail", "spec", "container"]))
        target = {
            "event": event,
            "detail": event["detail"],
            "spec": event["detail"].get("InferenceSpecification", event["detail"]),
            "container": event["detail"].get("InferenceSpecification", {"Containers": [{}]})["Containers"][0],
        }[where]
        target[draw(KEYS)] = draw(JSON)
        return event
    return draw(st.dictionaries(KEYS, JSON, max_size=5) | JSON)


@settings(max_examples=300, deadline=None)
@given(event=events(), answer=JSON | st.dictionaries(KEYS, JSON, max_size=3))
def test_any_event_is_a_release_or_a_rejection(event, answer):
    try:
        release = redeploy.parse_event(event, lambda_settings(), Registry(answer))
    except redeploy.Rejected as error:
        assert str(error)
    else:
        assert release.model_data_url == artifact_url(release.model_version)
        assert release.source == "direct" or release.model_package_arn == ARN
        assert redeploy.SHA256.fullmatch(release.sha256)  # never a release without its digest
