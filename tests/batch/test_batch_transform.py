"""Batch inference end to end on the local cloud: the client (`textclf.batch.job`) as the batch
caller's role, the transform job run for real by the serving program as the model's role."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from batch_world import BUCKET, ENDPOINT, MODEL, assume_caller
from tests.conftest import LABELS

from textclf.batch import job
from textclf.config import load_params
from textclf.localcloud.iam import admin_env

PARAMS = load_params()
FAST = PARAMS.batch.model_copy(update={"poll_seconds": (0.2, 0.5)})
TEXTS = ["Where is my parcel?", "I was charged twice", "Please cancel my plan", "The zip broke"]


def records(count: int) -> list[str]:
    return [json.dumps({"id": n, "inputs": TEXTS[n % len(TEXTS)]}) for n in range(count)]


def run(input_uri: str, output_uri: str, logs: list[str] | None = None, **kwargs):
    log = (logs if logs is not None else []).append
    return job.run(FAST, PARAMS.deploy.serve, PARAMS.aws, input_uri, output_uri, ENDPOINT, log, **kwargs)


def test_a_file_is_predicted_in_multirecord_batches_and_joined_to_its_records(world, tmp_path):
    source = world.put("batch/in/messages.jsonl", records(20))
    logs: list[str] = []

    result = run(
        "s3://textclf-data/batch/in/", "s3://textclf-data/batch/out", logs, report=tmp_path / "batch.json"
    )

    lines = world.read("batch/out/messages.jsonl.out")
    assert [line["id"] for line in lines] == list(range(20))  # in order, each joined to its record
    assert all(line["inputs"] == TEXTS[line["id"] % 4] for line in lines)
    assert {line["SageMakerOutput"]["label"] for line in lines} <= set(LABELS)
    assert all(0 < line["SageMakerOutput"]["score"] <= 1 for line in lines)
    described = world.sm.describe_transform_job(TransformJobName=result["job_name"])
    assert described["BatchStrategy"] == "MultiRecord" and described["ModelName"] == MODEL
    assert described["DataProcessing"] == {
        "InputFilter": "$.inputs",
        "JoinSource": "Input",
        "OutputFilter": "$",
    }
    assert result["rows"] == result["predictions"] == 20 and result["failures"] == 0
    assert result["transform_seconds"] > 0
    expected = round(result["transform_seconds"] * PARAMS.batch.prices_usd_per_hour["ml.m5.xlarge"] / 3600, 4)
    assert result["estimated_cost_usd"] == expected
    assert json.loads((tmp_path / "batch.json").read_text())["job_name"] == result["job_name"]
    assert "input: 20 records in 1 object(s), checked" in logs and "job Completed" in logs
    assert source.endswith("messages.jsonl")


def test_more_records_than_the_serving_image_takes_per_request_run_single_record(world):
    world.put("batch/in/many.jsonl", records(PARAMS.deploy.serve.max_batch_size + 3))
    logs: list[str] = []

    result = run("s3://textclf-data/batch/in/many.jsonl", "s3://textclf-data/batch/out/", logs)

    assert result["batch_strategy"] == "SingleRecord" and result["predictions"] == 35
    assert any("running SingleRecord" in line for line in logs)
    assert len(world.read("batch/out/many.jsonl.out")) == 35


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ('{"inputs": "a"}\n\n{"inputs": "b"}\n', 2, "empty line"),
        ('{"inputs": "a"}\n["not", "an object"]\n', 2, 'text in "inputs"'),
        ('{"inputs": "a"}\n{"text": "wrong key"}\n', 2, 'text in "inputs"'),
        ('{"inputs": "a"}\n{"inputs": "ok"}\n{"inputs": "\\u200b \\t"}\n', 3, "empty once normalised"),
        ('{"inputs": "%s"}\n' % ("x" * (1024 * 1024 + 1)), 1, "more than one request may carry"),
        ('{"inputs": "a"}\n{"inputs": "b"\n', 2, "not JSON"),
    ],
    ids=["blank-line", "array", "wrong-key", "empty-text", "too-long", "malformed"],
)
def test_bad_input_is_refused_before_any_job_with_the_record_named(world, body, line, message):
    world.put("batch/in/bad/in.jsonl", body)

    with pytest.raises(job.BatchError, match=message) as caught:
        run("s3://textclf-data/batch/in/bad/", "s3://textclf-data/batch/out/")

    assert str(caught.value).startswith(f"s3://{BUCKET}/batch/in/bad/in.jsonl line {line}:")
    assert world.sm.list_transform_jobs()["TransformJobSummaries"] == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"inputs": "a"}\n\n{"inputs": "b"}\n', "in.jsonl line 2: empty record"),
        ('{"inputs": "a"}\n{"text": "b"}\n', "in.jsonl line 2: the InputFilter $.inputs cannot be applied"),
        # The container refuses the third text (nothing left once normalised): the failed mini-batch
        # is retried record by record, so the reason names the record, not the batch.
        (
            '{"inputs": "a"}\n{"inputs": "b"}\n{"inputs": "   "}\n{"inputs": "c"}\n',
            "in.jsonl line 3: the model container answered 400",
        ),
    ],
    ids=["blank-line", "wrong-shape", "refused-by-the-container"],
)
def test_the_job_itself_fails_on_a_bad_record_naming_it_and_writes_nothing(world, tmp_path, body, reason):
    world.put("batch/in/bad/in.jsonl", body)

    with pytest.raises(job.BatchError, match="Failed") as caught:
        run(
            "s3://textclf-data/batch/in/bad/",
            "s3://textclf-data/batch/out/",
            check=False,
            report=tmp_path / "r.json",
        )

    assert reason in str(caught.value)
    assert world.keys("batch/out/") == []  # no partial output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["status"] == "Failed" and reason in report["failure_reason"]


def test_the_job_reads_as_the_model_role_not_as_the_caller(world, monkeypatch):
    """The caller may read the other bucket; the model's role may not: the job fails on the read.
    batch-predict refuses such an INPUT before starting; the job is created here as SageMaker's API
    takes it, to see the local cloud run it as the model's role."""
    keys = admin_env()
    admin = boto3.client(
        "s3",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token="",
    )
    admin.create_bucket(Bucket="other-data")
    admin.put_object(Bucket="other-data", Key="in.jsonl", Body=b'{"inputs": "a"}\n')

    with pytest.raises(job.BatchError, match="is not in the data bucket textclf-data"):
        run("s3://other-data/in.jsonl", "s3://textclf-data/batch/out/", check=False)
    assert world.sm.list_transform_jobs()["TransformJobSummaries"] == []

    name = "textclf-batch-20261207-000000"
    request = job.plan_request(
        name, MODEL, "s3://other-data/in.jsonl", "s3://textclf-data/batch/out/", FAST, "MultiRecord"
    )
    sm = boto3.client("sagemaker")  # as the batch caller
    sm.create_transform_job(**request)
    described = job.wait(sm, name, lambda line: None, FAST.poll_seconds)

    assert described["TransformJobStatus"] == "Failed"
    assert "textclf-sagemaker" in described["FailureReason"] and "s3:ListBucket" in described["FailureReason"]


def test_a_caller_without_the_batch_statements_is_refused(world, monkeypatch):
    for key, value in admin_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    world.put("batch/in/a.jsonl", records(2))
    read_only = [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig"],
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"},
    ]
    for key, value in assume_caller("no-batch", read_only).items():
        monkeypatch.setenv(key, value)

    with pytest.raises(job.BatchError, match="not authorized to perform: sagemaker:CreateTransformJob"):
        run("s3://textclf-data/batch/in/", "s3://textclf-data/batch/out/")


def test_an_interrupt_stops_the_job(world):
    world.put("batch/in/a.jsonl", records(8))

    def interrupted(_seconds):
        raise KeyboardInterrupt

    logs: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        job.run(
            FAST,
            PARAMS.deploy.serve,
            PARAMS.aws,
            "s3://textclf-data/batch/in/",
            "s3://textclf-data/batch/out/",
            ENDPOINT,
            logs.append,
            sleep=interrupted,
        )

    name = world.sm.list_transform_jobs()["TransformJobSummaries"][0]["TransformJobName"]
    assert any(line.startswith(f"asked SageMaker to stop {name}") for line in logs)
    deadline = time.monotonic() + 20
    while (
        status := world.sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
    ) != "Stopped":
        assert status in ("InProgress", "Stopping") and time.monotonic() < deadline
        time.sleep(0.1)
    assert world.keys("batch/out/") == []


def test_outputs_inside_the_input_and_unknown_endpoints_are_refused(world):
    # Inside INPUT is outside the batch output prefix (batch.input_prefix and output_prefix are apart).
    with pytest.raises(job.BatchError, match="outside the batch output prefix"):
        run("s3://textclf-data/batch/in/", "s3://textclf-data/batch/in/out/")
    with pytest.raises(job.BatchError, match="not an s3://bucket/prefix URI"):
        run("in.jsonl", "s3://textclf-data/batch/out/")
    with pytest.raises(job.BatchError, match="release a model first"):
        job.run(
            FAST,
            PARAMS.deploy.serve,
            PARAMS.aws,
            "s3://textclf-data/batch/in/",
            "s3://textclf-data/batch/out/",
            "nope",
            print,
        )


def test_a_killed_client_leaves_the_job_name_for_batch_stop(world, tmp_path):
    """A cancelled workflow kills the client (no interrupt to handle): `textclf batch-stop` stops
    the job from the name batch-predict recorded."""
    world.put("batch/in/a.jsonl", records(8))
    job_file = tmp_path / "job"

    def killed(_seconds):
        raise SystemExit(143)

    with pytest.raises(SystemExit):
        run("s3://textclf-data/batch/in/", "s3://textclf-data/batch/out/", job_file=job_file, sleep=killed)
    name = job_file.read_text().strip()
    assert world.sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"] == "InProgress"

    logs: list[str] = []
    assert job.stop_recorded(job_file, PARAMS.aws, logs.append) == name

    assert logs == [f"asked SageMaker to stop {name}"]
    deadline = time.monotonic() + 20
    while world.sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"] != "Stopped":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job.stop_recorded(job_file, PARAMS.aws, logs.append)
    assert logs[-1] == f"{name} is not in progress"
