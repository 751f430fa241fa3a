"""The `sagemaker` train backend against the local cloud, whose training jobs really train.

What the backend sent is asserted on what the local cloud received (DescribeTrainingJob, ListTags,
S3), and the job outcomes (Completed, Failed, Stopped, MaxWaitTimeExceeded, Interrupted then
resumed) come from real jobs: a `textclf train-job` subprocess on the tiny model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from tests.training.conftest import (
    BRANCH,
    BUCKET,
    COMMIT,
    IMAGE,
    PRICE,
    REGION,
    ROLE,
    Lines,
    project_key_arn,
    write_params,
)
from textclf.localcloud import training
from textclf.pipeline.train import Hyperparameters
from textclf.training import sagemaker as sagemaker_backend
from textclf.training.sagemaker import SageMakerError


def train(project: Path, **sagemaker) -> tuple[dict, Path, Lines]:
    params = write_params(project, **sagemaker)
    staging = project / "staging"
    staging.mkdir()
    lines = Lines()
    facts = sagemaker_backend.run(params, Hyperparameters.from_params(params), staging, lines)
    return facts, staging, lines


def only_job() -> dict:
    sm = boto3.client("sagemaker", region_name=REGION)
    (summary,) = sm.list_training_jobs()["TrainingJobSummaries"]
    return sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])


def test_completed_job_leaves_the_model_and_the_facts(cloud, project):
    facts, staging, lines = train(project, kms_key_id=project_key_arn(), tags={"team": "nlp"})
    check_the_request(project, facts)

    model_files = ("config.json", "model.safetensors", "tokenizer.json", "labels.json")
    for name in model_files:
        assert (staging / name).is_file(), name
    assert not list(staging.glob(".*")), "no leftovers of the download"
    history = json.loads((staging / "training_history.json").read_text())
    steps = math.ceil(len((project / "data/prepared/train.jsonl").read_text().splitlines()) / 8)
    assert facts["global_step"] == max(h["step"] for h in history) == steps  # one epoch, batches of 8
    for key in ("train_loss", "validation_accuracy", "validation_macro_f1"):
        assert isinstance(facts[key], float)
    assert facts["backend"] == "sagemaker" and facts["instance_type"] == "ml.g4dn.xlarge"
    assert facts["instance_count"] == 1 and facts["region"] == REGION
    assert facts["job_arn"].endswith(f":training-job/{facts['job_name']}")
    assert facts["job_name"] in facts["console_url"] and REGION in facts["console_url"]
    # Spot: the local cloud bills 30 % of the training time, as SageMaker reports Spot savings.
    assert 0 < facts["billable_seconds"] < facts["training_seconds"]
    expected = 100 * (1 - facts["billable_seconds"] / facts["training_seconds"])
    assert facts["spot_savings_percent"] == pytest.approx(expected, abs=0.1)
    assert facts["estimated_cost_usd"] == pytest.approx(facts["billable_seconds"] * PRICE / 3600, abs=1e-4)
    assert facts["interruptions"] == 0 and facts["resumed_from_step"] == 0

    # The status transitions and the program's own log lines were shown while waiting.
    text = lines.text()
    shown = ("Downloading", "Training", "Uploading", "Completed")
    positions = [text.index(f"job {status}") for status in shown]
    assert positions == sorted(positions)
    assert "algo-1 | " in text and f'"global_step": {steps}' in text
    assert sum('"global_step"' in line for line in lines) == 1, "each log line is shown once"
    # The training's size and progress lines reach the job's CloudWatch log and, from there, the
    # stage's log, each a line of its own (a log every 2 steps; a rate from the third step on).
    rows = len((project / "data/prepared/train.jsonl").read_text().splitlines())
    assert f"algo-1 | training {rows} rows x 1 epoch = {rows} samples at batch 8: {steps} steps" in lines
    progress = [line for line in lines if line.startswith("algo-1 | epoch 1/1  step ")]
    assert [line.split()[5] for line in progress] == [f"2/{steps}", f"4/{steps}"], progress
    assert ", about " in progress[1] and " left (" in progress[1] and len(f"[train] {progress[1]}") <= 100

    # The artifact sits where the job description says, under the commit.
    s3 = boto3.client("s3", region_name=REGION)
    key = facts["model_artifact"].removeprefix(f"s3://{BUCKET}/")
    assert key == f"jobs/{COMMIT}/{facts['job_name']}/output/model.tar.gz"
    s3.head_object(Bucket=BUCKET, Key=key)
    # Checkpoints were synced to the job's checkpoint URI while it ran.
    prefix = facts["checkpoint_uri"].removeprefix(f"s3://{BUCKET}/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    assert any(re.search(r"checkpoint-\d+/trainer_state\.json$", k) for k in keys)


def check_the_request(project: Path, facts: dict) -> None:
    """What the local cloud received: the job definition the issue asks for."""
    job = only_job()
    params = write_params(project)
    hp = Hyperparameters.from_params(params)

    assert job["TrainingJobName"] == facts["job_name"]
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 900}
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert job["RoleArn"] == ROLE
    assert job["HyperParameters"] == hp.for_sagemaker()
    assert Hyperparameters.from_sagemaker(job["HyperParameters"]) == hp
    assert job["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    assert job["ResourceConfig"]["InstanceCount"] == 1 and job["ResourceConfig"]["VolumeSizeInGB"] == 30
    # g4dn has local NVMe storage, which SageMaker encrypts itself: no volume key may be sent.
    assert "VolumeKmsKeyId" not in job["ResourceConfig"]
    assert job["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{BUCKET}/jobs/{COMMIT}/",
        "KmsKeyId": project_key_arn(),
    }
    assert job["EnableNetworkIsolation"] is True
    assert job["EnableInterContainerTrafficEncryption"] is False

    # The job's own checkpoints: it resumes from them after a Spot interruption, from no other job's.
    checkpoint = job["CheckpointConfig"]
    assert checkpoint["LocalPath"] == "/opt/ml/checkpoints"
    assert checkpoint["S3Uri"] == f"s3://{BUCKET}/checkpoints/{job['TrainingJobName']}/"
    # The dataset's digest (DVC's md5 of data/prepared) and listing: the job checks its channels.
    environment = job["Environment"]
    digest, listing = sagemaker_backend.dataset_listing(project / "data/prepared")
    assert environment == {"TEXTCLF_DATASET_MD5": digest, "TEXTCLF_DATASET_LISTING": listing}

    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert sorted(channels) == ["train", "validation"]
    digest = sagemaker_backend.dataset_digest(project / "data/prepared")
    for name, channel in channels.items():
        source = channel["DataSource"]["S3DataSource"]
        assert source["S3Uri"] == f"s3://{BUCKET}/datasets/{digest}/{name}/"
        assert source["S3DataType"] == "S3Prefix" and source["S3DataDistributionType"] == "FullyReplicated"

    tags = boto3.client("sagemaker", region_name=REGION).list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    tags = {t["Key"]: t["Value"] for t in tags}
    assert tags["git-commit"] == COMMIT and tags["git-branch"] == BRANCH
    assert tags["project"] == "textclf" and tags["team"] == "nlp"
    assert tags["hyperparameters"] == hp.fingerprint()


def test_job_names_are_deterministic_valid_and_distinct_per_retry():
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    name = sagemaker_backend.job_name("textclf", COMMIT, "f" * 64, now)
    assert name == sagemaker_backend.job_name("textclf", COMMIT, "f" * 64, now)
    assert name.startswith(f"textclf-{COMMIT[:8]}-ffffffff-")
    later = sagemaker_backend.job_name("textclf", COMMIT, "f" * 64, now.replace(second=1))
    assert later != name
    longest = sagemaker_backend.job_name("a" * 20, "Feature_Branch/" * 9, "x" * 64, now)
    for candidate in (name, later, longest):
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", candidate), candidate


def test_an_unchanged_dataset_is_not_uploaded_twice(cloud, project):
    s3 = boto3.client("s3", region_name=REGION)
    prepared = project / "data/prepared"
    uri = f"s3://{BUCKET}/datasets/{sagemaker_backend.dataset_digest(prepared)}/"
    lines = Lines()
    assert sagemaker_backend.upload_dataset(s3, prepared, uri, lines) is True
    first = {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    uploaded = sorted("/".join(k.split("/")[-2:]) for k in first if not k.endswith("_COMPLETE"))
    assert uploaded == ["train/labels.json", "train/train.jsonl", "validation/validation.jsonl"]
    time.sleep(1.1)  # S3 times have whole seconds: a second upload would show
    assert sagemaker_backend.upload_dataset(s3, prepared, uri, lines) is False
    assert {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]} == first
    assert "not uploading it again" in lines[-1]

    # Other content, another address.
    with (prepared / "train.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "one more message about a refund", "label": "returns"}) + "\n")
    assert sagemaker_backend.dataset_digest(prepared) not in uri


def test_failed_job_stops_the_stage_with_the_failure_reason(cloud, project):
    # A dataset prefix whose marker says complete but whose train split is gone: the program
    # starts, finds no train.jsonl and writes /opt/ml/output/failure.
    s3 = boto3.client("s3", region_name=REGION)
    prepared = project / "data/prepared"
    prefix = f"datasets/{sagemaker_backend.dataset_digest(prepared)}/"
    s3.upload_file(str(prepared / "labels.json"), BUCKET, prefix + "train/labels.json")
    s3.upload_file(str(prepared / "validation.jsonl"), BUCKET, prefix + "validation/validation.jsonl")
    s3.put_object(Bucket=BUCKET, Key=prefix + "_COMPLETE", Body=b"{}")

    with pytest.raises(SageMakerError) as raised:
        train(project)
    message = str(raised.value)
    assert "Failed" in message and "train.jsonl: split not found" in message
    assert not list((project / "staging").iterdir())
    job = only_job()
    assert job["TrainingJobStatus"] == "Failed" and "train.jsonl" in job["FailureReason"]


def test_capacity_error_fails_with_sagemakers_reason(cloud, project):
    training.configure(capacity_error="CapacityError: Unable to provision requested ML compute capacity.")
    with pytest.raises(SageMakerError, match="CapacityError: Unable to provision"):
        train(project)


def test_max_wait_exceeded_stops_the_job_and_the_stage(cloud, project):
    training.configure(starting_seconds=30)  # no Spot capacity for longer than MaxWait allows
    started = time.monotonic()
    with pytest.raises(SageMakerError, match=r"Stopped \(MaxWaitTimeExceeded\)"):
        train(project, max_runtime_seconds=1, max_wait_seconds=2)
    assert time.monotonic() - started < 15
    assert only_job()["SecondaryStatus"] == "MaxWaitTimeExceeded"


def test_stopped_job_stops_the_stage(cloud, project):
    training.configure(starting_seconds=300)  # waiting for capacity until stopped
    sm = boto3.client("sagemaker", region_name=REGION)

    def stop_when_started():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs = sm.list_training_jobs()["TrainingJobSummaries"]
            if jobs:
                sm.stop_training_job(TrainingJobName=jobs[0]["TrainingJobName"])
                return
            time.sleep(0.1)

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    with pytest.raises(SageMakerError, match=r"Stopped \(Stopped\)"):
        train(project)
    stopper.join()
    job = only_job()
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    with pytest.raises(sm.exceptions.ClientError, match="in status Stopped"):
        sm.stop_training_job(TrainingJobName=job["TrainingJobName"])


def test_ctrl_c_stops_the_remote_job(cloud, project):
    """A non-interactive Ctrl-C (CI cancel) stops the remote job, so nothing keeps billing."""
    training.configure(starting_seconds=300)  # waiting for capacity until stopped
    write_params(project)
    command = [sys.executable, "-m", "textclf.cli", "train"]
    env = {**os.environ, "TEXTCLF_TRAIN_BACKEND": "sagemaker"}  # the local cloud, COMMIT and branch
    process = subprocess.Popen(
        command, cwd=project, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    sm = boto3.client("sagemaker", region_name=REGION)
    deadline = time.monotonic() + 60
    while not sm.list_training_jobs()["TrainingJobSummaries"] and time.monotonic() < deadline:
        time.sleep(0.05)
    # At once, not after a pause: the job is listed before SageMaker's answer reaches the client,
    # and an interrupt in that window must stop the job as well.
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "asked SageMaker to stop" in stderr
    job = only_job()
    assert job["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert not (project / "models/model").exists() and not (project / "metrics/train.json").exists()


@pytest.mark.slow  # two program starts
def test_interrupted_job_resumes_from_its_checkpoints(cloud, project):
    """A Spot interruption once the checkpoint of step 2 exists: SageMaker restarts the job, the
    program resumes from the synced checkpoints, and the job completes."""
    training.configure(interrupt_at_steps=(2,))
    facts, staging, lines = train(project)

    statuses = [t["Status"] for t in only_job()["SecondaryStatusTransitions"]]
    interrupted = statuses.index("Interrupted")
    assert statuses[:interrupted] == ["Starting", "Downloading", "Training"]
    assert statuses[interrupted + 1 :] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert "job Interrupted" in lines.text()
    assert facts["interruptions"] == 1
    assert facts["resumed_from_step"] >= 2  # the second run started from a checkpoint, not from 0
    steps = math.ceil(len((project / "data/prepared/train.jsonl").read_text().splitlines()) / 8)
    assert facts["global_step"] == steps
    assert (staging / "model.safetensors").is_file()


def test_the_dataset_digest_is_the_one_dvc_records_for_the_prepared_folder(project):
    """DVC's own Tree computes the same md5 from the listing: dvc.lock's digest of data/prepared is
    the dataset's address, and what the release compares a job's data with."""
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    digest, listing = sagemaker_backend.dataset_listing(project / "data/prepared")
    tree = Tree()
    for entry in json.loads(listing):
        tree.add(tuple(entry["relpath"].split("/")), Meta(), HashInfo("md5", entry["md5"]))
    tree.digest()
    assert tree.hash_info.value == digest
    assert sagemaker_backend.dataset_digest(project / "data/prepared") == digest.removesuffix(".dir")


def test_other_bytes_under_a_datasets_address_are_refused_not_trained_on(cloud, project):
    """datasets/ is write-once: bytes someone wrote first under this content's address are found by
    the conditional upload and refused, naming the key."""
    s3 = boto3.client("s3", region_name=REGION)
    prepared = project / "data/prepared"
    uri = f"s3://{BUCKET}/datasets/{sagemaker_backend.dataset_digest(prepared)}/"
    poisoned = uri.removeprefix(f"s3://{BUCKET}/") + "train/train.jsonl"
    s3.put_object(Bucket=BUCKET, Key=poisoned, Body=b'{"text": "poison", "label": "returns"}\n')
    with pytest.raises(SageMakerError, match=f"s3://{BUCKET}/{poisoned} exists with other bytes"):
        sagemaker_backend.upload_dataset(s3, prepared, uri, Lines())
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert not [key for key in keys if key.endswith("_COMPLETE")]  # never marked complete


def test_a_job_checks_every_channel_file_against_its_dataset_listing(tmp_path):
    from textclf.training import job_launcher

    listing = json.dumps([{"md5": hashlib.md5(b"ok").hexdigest(), "relpath": "train.jsonl"}], sort_keys=True)
    env = {
        "TEXTCLF_DATASET_MD5": hashlib.md5(listing.encode()).hexdigest() + ".dir",
        "TEXTCLF_DATASET_LISTING": listing,
        "SM_CHANNEL_TRAIN": str(tmp_path / "train"),
        "SM_CHANNEL_VALIDATION": str(tmp_path / "validation"),
    }
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.jsonl").write_bytes(b"ok")
    assert job_launcher.check_channels(env, tmp_path) == 1
    (tmp_path / "train" / "train.jsonl").write_bytes(b"poisoned")
    with pytest.raises(job_launcher.ChannelMismatch, match=r"train\.jsonl has md5 .* not the data this job"):
        job_launcher.check_channels(env, tmp_path)
    (tmp_path / "train" / "train.jsonl").write_bytes(b"ok")
    (tmp_path / "train" / "extra.jsonl").write_bytes(b"x")
    with pytest.raises(job_launcher.ChannelMismatch, match=r"extra\.jsonl is not in dataset"):
        job_launcher.check_channels(env, tmp_path)
    with pytest.raises(job_launcher.ChannelMismatch, match="is not the listing"):
        job_launcher.check_channels({**env, "TEXTCLF_DATASET_MD5": "0" * 32 + ".dir"}, tmp_path)
    assert job_launcher.check_channels({}, tmp_path) == 0  # a job started without them (by hand)
