"""Publish and promote-by-commit against the local cloud's S3 (the endpoint side runs in the
release rehearsal, tests/e2e)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile

import boto3
import pytest

from tests.workflows.conftest import ARTIFACTS, BIN
from textclf.config import AwsParams
from textclf.release import promote as release

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef0123456789abcdef"


def aws() -> AwsParams:
    return AwsParams().resolved()


def test_publish_uploads_model_metrics_and_manifest_last(buckets, trained) -> None:
    manifest = release.publish(COMMIT, aws(), trained["model"], trained["metrics"], trained["gate"])
    s3 = boto3.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=ARTIFACTS)["Contents"])
    assert keys == [
        f"models/{COMMIT}/{name}" for name in ("eval.json", "gate.json", "manifest.json", "model.tar.gz")
    ]
    assert manifest["model_data_url"] == f"s3://{ARTIFACTS}/models/{COMMIT}/model.tar.gz"
    blob = s3.get_object(Bucket=ARTIFACTS, Key=f"models/{COMMIT}/model.tar.gz")["Body"].read()
    assert manifest["sha256"] == hashlib.sha256(blob).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
        names = archive.getnames()
    # Files at the archive root: SageMaker extracts it into /opt/ml/model.
    assert {"config.json", "labels.json", "model.safetensors"} <= set(names)
    assert all("/" not in name for name in names)
    assert release.find_artifact(COMMIT, aws())["sha256"] == manifest["sha256"]
    assert json.loads(s3.get_object(Bucket=ARTIFACTS, Key=f"models/{COMMIT}/eval.json")["Body"].read())[
        "macro_f1"
    ] == pytest.approx(0.9)


def test_publish_uploads_the_drift_reference_when_evaluate_wrote_one(buckets, trained) -> None:
    reference = trained["metrics"].parent / "reference.json"  # metrics/reference.json in the workspace
    reference.write_text(json.dumps({"format": 1, "test_rows": 3}), encoding="utf-8")
    release.publish(COMMIT, aws(), trained["model"], trained["metrics"], trained["gate"])
    body = (
        boto3.client("s3").get_object(Bucket=ARTIFACTS, Key=f"models/{COMMIT}/reference.json")["Body"].read()
    )
    assert json.loads(body) == {"format": 1, "test_rows": 3}


def test_publish_refuses_a_folder_that_is_not_a_model(buckets, trained, tmp_path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(
        release.ReleaseError, match=r"not a trained model folder \(missing config.json, labels.json\)"
    ):
        release.publish(COMMIT, aws(), empty, trained["metrics"])
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS)


@pytest.mark.parametrize("verdict", ["fail", "FAIL", "Pass", None])
def test_publish_refuses_a_model_that_failed_its_gate(buckets, trained, tmp_path, verdict) -> None:
    """Only a verdict of exactly "pass" publishes (a "FAIL" did before)."""
    verdict_file = tmp_path / "reports" / "gate.json"  # where `make gate` writes the full verdict
    verdict_file.parent.mkdir()
    verdict_file.write_text(
        json.dumps({"verdict": verdict, "reasons": ["macro_f1 vs production"]}), encoding="utf-8"
    )
    with pytest.raises(release.ReleaseError, match="the gate did not pass this model"):
        release.publish(COMMIT, aws(), trained["model"], trained["metrics"], trained["gate"])
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS)


def test_publish_refuses_a_bad_commit(buckets, trained) -> None:
    with pytest.raises(release.ReleaseError, match="'main' is not a full git commit sha"):
        release.publish("main", aws(), trained["model"], trained["metrics"])


def test_unfinished_publish_is_not_promotable(buckets, trained) -> None:
    """A model without its manifest (a publish that died half way) counts as not published."""
    boto3.client("s3").put_object(Bucket=ARTIFACTS, Key=f"models/{COMMIT}/model.tar.gz", Body=b"partial")
    with pytest.raises(release.ReleaseError, match=f"no trained model for commit {COMMIT}"):
        release.find_artifact(COMMIT, aws())


def test_promote_without_artifact_fails_before_touching_the_endpoint(buckets, trained) -> None:
    release.publish(OTHER, aws(), trained["model"], trained["metrics"])
    targets = release.Targets("textclf-prod-redeploy", "textclf-prod-endpoint")
    with pytest.raises(release.ReleaseError, match=f"no trained model for commit {COMMIT}"):
        release.promote(COMMIT, aws(), targets, "macro_f1")
    # Nothing was deployed or recorded.
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS)["Contents"]]
    assert not [key for key in keys if key.startswith("production/")]


def _git_history(root, repo_root) -> tuple[str, str]:
    """A main with one commit and an unmerged branch commit; returns (main, branch) shas."""
    import shutil

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    root.mkdir()
    for name in ("params.yaml", "dvc.lock", "data.dvc"):  # what a model's provenance is checked against
        shutil.copy(repo_root / name, root / name)
    git("init", "-q", "-b", "main")
    git("add", "params.yaml", "dvc.lock", "data.dvc")
    git("commit", "-q", "-m", "main")
    main = git("rev-parse", "HEAD")
    git("switch", "-q", "-c", "unmerged")
    git("commit", "-q", "--allow-empty", "-m", "a PR that was never merged")
    branch = git("rev-parse", "HEAD")
    git("switch", "-q", "main")
    return main, branch


def release_check(root, commit: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "textclf", "release-check", "--commit", commit],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_release_check_takes_only_a_published_verified_model_of_a_merged_commit(
    buckets, trained, tmp_path, repo_root
) -> None:
    """A rollback by hand (workflow_dispatch with a commit) passes the same check as a release."""
    root = tmp_path / "repo"
    main, unmerged = _git_history(root, repo_root)

    short = release_check(root, main[:12])
    assert short.returncode == 2 and "not a full git commit sha (40 hex digits)" in short.stderr
    unpublished = release_check(root, main)
    assert unpublished.returncode == 2 and f"no trained model for commit {main}" in unpublished.stderr

    release.publish(unmerged, aws(), trained["model"], trained["metrics"])  # an unmerged PR's model
    refused = release_check(root, unmerged)
    assert refused.returncode == 2 and f"commit {unmerged} is not on main (refs/heads/main)" in refused.stderr

    # Published by hand: the bytes are there, but nothing shows a training job of this commit.
    manifest = release.publish(main, aws(), trained["model"], trained["metrics"])
    by_hand = release_check(root, main)
    assert (
        by_hand.returncode == 2
        and "no provenance" in by_hand.stderr
        and "nothing was released" in by_hand.stderr
    )

    # The manifest the training-run function writes (this test bucket has no write-once policy).
    key = f"models/{main}/manifest.json"
    facts = provenance(root / "params.yaml", root / "dvc.lock", main)
    other_params = {**facts, "hyperparameters": {**facts["hyperparameters"], "learning_rate": "0.1"}}
    put_manifest = lambda facts: boto3.client("s3").put_object(  # noqa: E731
        Bucket=ARTIFACTS, Key=key, Body=json.dumps({**manifest, "provenance": facts}).encode()
    )
    put_manifest(other_params)
    wrong = release_check(root, main)
    assert (
        wrong.returncode == 2
        and "hyperparameters differ from params.yaml at the commit in learning_rate" in wrong.stderr
    )
    put_manifest(facts)
    ok = release_check(root, main)
    assert ok.returncode == 0, ok.stderr
    assert "published, verified model" in ok.stderr
    assert all("Traceback" not in r.stderr for r in (short, unpublished, refused, by_hand, wrong, ok))


def provenance(params_file, lock_file, commit: str, job: str = "") -> dict:
    """What the training-run function records for a job of `commit` on its data and params."""
    import yaml

    from textclf.config import load_params
    from textclf.pipeline.train import Hyperparameters

    job = job or f"textclf-{commit[:8]}-run7-1"
    lock = yaml.safe_load(lock_file.read_text(encoding="utf-8"))
    md5 = next(o["md5"] for o in lock["stages"]["prepare"]["outs"] if o["path"] == "data/prepared")
    return {
        "job_name": job,
        "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-prod-training:abc",
        "hyperparameters": Hyperparameters.from_params(load_params(params_file)).for_sagemaker(),
        "dataset_md5": md5,
        "raw_data_md5": yaml.safe_load(params_file.with_name("data.dvc").read_text())["outs"][0]["md5"],
        "input_data": [
            f"s3://{ARTIFACTS}/datasets/{md5.removesuffix('.dir')}/{c}/" for c in ("train", "validation")
        ],
        "checkpoint_uri": f"s3://{ARTIFACTS}/checkpoints/{job}/",
        "model_artifacts": f"s3://{ARTIFACTS}/jobs/{commit}/{job}/output/model.tar.gz",
    }


def test_a_tampered_archive_is_refused_before_anything_is_released(buckets, trained) -> None:
    manifest = release.publish(COMMIT, aws(), trained["model"], trained["metrics"])
    key = f"models/{COMMIT}/model.tar.gz"
    # The local test bucket has no write-once policy (terraform/storage.tf adds it): tamper directly.
    boto3.client("s3").put_object(Bucket=ARTIFACTS, Key=key, Body=b"other bytes")
    with pytest.raises(release.ReleaseError, match="is not the reviewed model; nothing was released"):
        release.verify_archive(COMMIT, manifest, aws(), provenance=False)
    with pytest.raises(release.ReleaseError, match="is not the reviewed model"):
        release.promote(COMMIT, aws(), release.Targets("redeploy", "endpoint"), "macro_f1")


def test_publish_is_write_once_per_commit(buckets, trained, tmp_path) -> None:
    first = release.publish(COMMIT, aws(), trained["model"], trained["metrics"])
    assert (
        release.publish(COMMIT, aws(), trained["model"], trained["metrics"]) == first
    )  # a re-run: same bytes
    other = tmp_path / "other-model"
    shutil_copy = __import__("shutil").copytree
    shutil_copy(trained["model"], other)
    (other / "notes.txt").write_text("another model", encoding="utf-8")  # other bytes, same evaluation
    with pytest.raises(release.ReleaseError, match="released models are write-once"):
        release.publish(COMMIT, aws(), other, trained["metrics"])


def test_promote_needs_the_deployed_names(buckets, trained) -> None:
    release.publish(COMMIT, aws(), trained["model"], trained["metrics"])
    with pytest.raises(release.ReleaseError, match="TEXTCLF_REDEPLOY_FUNCTION is not set"):
        release.promote(COMMIT, aws(), release.Targets("", "endpoint"), "macro_f1")


class FakeGh:
    """Stands in for the GitHub API (`gh api`), which is not reachable from tests."""

    def __init__(self, returncode: int, stdout: str = "", stderr: str = "") -> None:
        self.result = subprocess.CompletedProcess([], returncode, stdout, stderr)
        self.calls: list[list[str]] = []

    def __call__(self, command: list[str], **_: object) -> subprocess.CompletedProcess:
        self.calls.append(command)
        return self.result


def test_reviewed_commit_is_the_prs_head() -> None:
    gh = FakeGh(0, f"{OTHER}\n")
    assert release.reviewed_commit("acme/textclf", COMMIT, gh) == OTHER
    assert gh.calls[0][:3] == ["gh", "api", f"repos/acme/textclf/commits/{COMMIT}/pulls"]


def test_reviewed_commit_of_a_direct_push_is_itself() -> None:
    assert release.reviewed_commit("acme/textclf", COMMIT, FakeGh(0, "")) == COMMIT


def test_reviewed_commit_reports_api_failures() -> None:
    with pytest.raises(release.ReleaseError, match=r"cannot ask GitHub which PR produced .*HTTP 403"):
        release.reviewed_commit("acme/textclf", COMMIT, FakeGh(1, "", "HTTP 403"))


def test_release_commit_cli_prefers_the_requested_commit() -> None:
    result = subprocess.run(
        [BIN / "textclf", "release-commit", "--commit", OTHER.upper()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.strip() == OTHER
