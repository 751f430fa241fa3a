"""The redeploy Lambda's handler against the local cloud (moto over HTTP, with the endpoint extension)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config
from redeploy_world import (
    BUCKET,
    COMMITS,
    ENDPOINT,
    IMAGE,
    LOCK_TABLE,
    archive_sha256,
    artifact_url,
    direct_event,
    lambda_environment,
    set_endpoint_behaviour,
)

from textclf import lambda_zip
from textclf.release import redeploy

A, B, C, D = COMMITS


def deploy(event) -> dict:
    return redeploy.handler(event, None)


def direct(commit: str) -> dict:
    return direct_event(commit)


def approved_event(
    url: str, status: str = "Approved", with_url: bool = True, sha256: str = "ab" * 32
) -> dict:
    detail = {
        # Terraform names the model package group after the endpoint (MODEL_PACKAGE_GROUP's default).
        "ModelPackageGroupName": ENDPOINT,
        "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{ENDPOINT}/1",
        "ModelApprovalStatus": status,
    }
    if with_url:
        detail["InferenceSpecification"] = {"Containers": [{"Image": "x", "ModelDataUrl": url}]}
        # The model package's published digest (DescribeModelPackage's CustomerMetadataProperties).
        detail["CustomerMetadataProperties"] = {"sha256": sha256}
    return {
        "version": "0",
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": detail,
    }


def test_first_deploy_creates_the_serverless_endpoint(world):
    url = world.upload(A)

    result = deploy(direct(A))

    assert result["ok"] and result["status"] == "deployed", result
    assert result["previous"] is None and result["model_version"] == A
    endpoint = world.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == result["new"]["endpoint_config"]
    assert A[:12] in endpoint["EndpointConfigName"]
    config = world.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    container = world.sm.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"]
    assert container["ModelDataUrl"] == url
    assert container["Environment"] == {"MODEL_VERSION": A}
    assert container["Image"].endswith("textclf-serve:latest")
    assert set(result["timings_s"]) >= {"lock_wait", "create_resources", "rollout", "total"}
    assert world.locks() == []  # released


def test_an_archive_that_is_not_the_published_one_is_refused_before_anything_is_created(world):
    """promote passes the manifest's sha256; the Lambda checks the bytes itself (release integrity)."""
    import hashlib

    world.upload(A)
    published = hashlib.sha256(world.tarballs["good"]).hexdigest()
    refused = deploy({**direct(A), "sha256": "0" * 64})
    assert not refused["ok"] and refused["status"] == "rejected", refused
    assert "not the reviewed model; nothing was deployed" in refused["reason"]
    assert world.model_names() == [] and world.sm.list_endpoints()["Endpoints"] == []

    assert deploy({**direct(A), "sha256": published})["status"] == "deployed"
    malformed = deploy({**direct(B), "sha256": "not-a-digest"})
    assert malformed["status"] == "rejected" and "64 lowercase hex digits" in malformed["reason"]


def test_every_event_that_deploys_must_carry_the_digest_it_verifies(world):
    """A direct event or a model package without the archive's sha256 is refused, naming the field:
    nothing reaches the endpoint unless its bytes were compared with the published digest."""
    world.upload(A)
    world.sm.create_model_package_group(ModelPackageGroupName=ENDPOINT)
    package = world.sm.create_model_package(
        ModelPackageGroupName=ENDPOINT,
        InferenceSpecification={
            "Containers": [{"Image": "x", "ModelDataUrl": artifact_url(A)}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus="Approved",
    )  # registered without CustomerMetadataProperties
    from_registry = approved_event(artifact_url(A), with_url=False)
    from_registry["detail"]["ModelPackageArn"] = package["ModelPackageArn"]
    without_digest = approved_event(artifact_url(A))
    del without_digest["detail"]["CustomerMetadataProperties"]
    answers = {
        "direct": deploy({"model_data_url": artifact_url(A), "model_version": A}),
        "url alone": deploy({"model_data_url": artifact_url(A)}),
        "registry": deploy(from_registry),
        "event": deploy(without_digest),
    }
    for name, result in answers.items():
        assert result["status"] == "rejected" and not result["ok"], (name, result)
    for name in ("direct", "url alone"):
        assert "the event has no sha256" in answers[name]["reason"], answers[name]
        assert f"models/{A}/manifest.json" in answers[name]["reason"]
    for name in ("registry", "event"):
        assert "has no CustomerMetadataProperties.sha256" in answers[name]["reason"], answers[name]
    assert world.model_names() == [] and world.sm.list_endpoints()["Endpoints"] == []

    # The registry's own digest, read with DescribeModelPackage, is checked against the bytes.
    tampered = approved_event(artifact_url(A))
    tampered["detail"]["CustomerMetadataProperties"] = {"sha256": "0" * 64}
    assert "not the reviewed model" in deploy(tampered)["reason"]
    assert deploy(approved_event(artifact_url(A), sha256=archive_sha256(A)))["status"] == "deployed"


def test_update_moves_the_endpoint_to_the_new_model(world):
    world.upload(A)
    world.upload(B)
    first = deploy(direct(A))

    second = deploy(direct(B))

    assert second["status"] == "deployed", second
    assert second["previous"]["endpoint_config"] == first["new"]["endpoint_config"]
    assert second["previous"]["model_version"] == A
    assert world.endpoint()["EndpointStatus"] == "InService"
    assert world.live_model_url() == artifact_url(B)
    assert len(world.config_names()) == 2  # the previous config stays for rollback


def test_provisioned_concurrency_goes_into_the_endpoint_config(world, monkeypatch):
    monkeypatch.setenv("SERVERLESS_PROVISIONED_CONCURRENCY", "2")
    monkeypatch.setenv("SERVERLESS_MEMORY_MB", "3072")
    world.upload(A)

    result = deploy(direct(A))

    config = world.sm.describe_endpoint_config(EndpointConfigName=result["new"]["endpoint_config"])
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 5,
        "ProvisionedConcurrency": 2,
    }


def test_a_repeated_event_is_a_no_op_that_says_so(world):
    world.upload(A)
    deploy(direct(A))
    configs, models = world.config_names(), world.model_names()

    again = deploy(direct(A))

    assert again["ok"] and again["status"] == "already_live", again
    assert "already live" in again["reason"]
    assert world.config_names() == configs and world.model_names() == models


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"s3://someone-elses-bucket/models/{A}/model.tar.gz", "outside the artifacts bucket"),
        (f"s3://{BUCKET}/other/{A}/model.tar.gz", "outside the artifacts bucket"),
        (f"s3://{BUCKET}-evil/models/{A}/model.tar.gz", "outside the artifacts bucket"),
        (f"s3://{BUCKET}/models/not-a-commit/model.tar.gz", "does not match"),
        (f"s3://{BUCKET}/models/{A}/other.tar.gz", "does not match"),
        (f"s3://{BUCKET}/models/{A}/x/model.tar.gz", "does not match"),
    ],
)
def test_artifacts_outside_the_bucket_and_prefix_are_rejected(world, url, reason):
    world.s3.create_bucket(Bucket="someone-elses-bucket")
    world.s3.put_object(Bucket="someone-elses-bucket", Key=f"models/{A}/model.tar.gz", Body=b"x")

    result = deploy({"model_data_url": url})

    assert result["status"] == "rejected" and not result["ok"], result
    assert reason in result["reason"]
    assert world.model_names() == [] and world.config_names() == []


def test_an_artifact_that_does_not_exist_is_rejected(world):
    result = deploy(direct(A))

    assert result["status"] == "rejected"
    assert "does not exist" in result["reason"]
    assert world.model_names() == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (["not", "an", "object"], "must be a JSON object"),
        ({}, "unrecognised event"),
        ({"model": "x"}, "unrecognised event"),
        ({"model_data_url": 42}, "must be a string"),
        ({"model_data_url": artifact_url(A), "force": True}, "unknown keys ['force']"),
        ({"model_data_url": artifact_url(A), "model_version": B}, "does not match the commit"),
        ({**approved_event(artifact_url(A)), "source": "aws.s3"}, "only 'SageMaker Model Package"),
        ({**approved_event(artifact_url(A)), "detail-type": "Other"}, "only 'SageMaker Model Package"),
        ({**approved_event(artifact_url(A)), "detail": []}, "no ModelPackageArn"),
        (approved_event(artifact_url(A), status="PendingManualApproval"), "not 'Approved'"),
        (approved_event(artifact_url(A), status="Rejected"), "not 'Approved'"),
        (approved_event(f"s3://elsewhere/models/{A}/model.tar.gz"), "outside the artifacts bucket"),
    ],
)
def test_malformed_or_unwanted_events_are_rejected_with_a_reason(world, event, reason):
    world.upload(A)

    result = deploy(event)

    assert result["status"] == "rejected", result
    assert reason in result["reason"]
    assert world.model_names() == []


def test_an_approved_model_package_event_deploys(world):
    url = world.upload(A)

    result = deploy(approved_event(url, sha256=archive_sha256(A)))

    assert result["status"] == "deployed", result
    assert result["source"] == "eventbridge" and result["model_version"] == A
    assert world.live_model_url() == url


def test_an_event_without_the_url_is_completed_from_the_model_registry(world):
    url = world.upload(A)
    world.sm.create_model_package_group(ModelPackageGroupName=ENDPOINT)
    package = world.sm.create_model_package(
        ModelPackageGroupName=ENDPOINT,
        InferenceSpecification={
            "Containers": [{"Image": "x", "ModelDataUrl": url}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={"sha256": archive_sha256(A)},
    )
    event = approved_event(url, with_url=False)
    event["detail"]["ModelPackageArn"] = package["ModelPackageArn"]

    result = deploy(event)

    assert result["status"] == "deployed", result
    assert result["model_package_arn"] == package["ModelPackageArn"]


def test_a_failed_update_leaves_the_previous_model_serving(world):
    """SageMaker's own behaviour: the update fails after the API call, the old config stays."""
    world.upload(A)
    world.upload(B, kind="broken")
    first = deploy(direct(A))

    result = deploy(direct(B))

    assert not result["ok"] and result["status"] == "failed", result
    assert result["rolled_back"] is True
    assert "did not pass the ping health check" in result["reason"]
    endpoint = world.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == first["new"]["endpoint_config"]
    assert "health check" in endpoint["FailureReason"]  # observable through DescribeEndpoint
    assert world.live_model_url() == artifact_url(A)


def test_an_update_that_ends_failed_is_rolled_back_to_the_previous_config(world):
    set_endpoint_behaviour(world.cloud_url, update_failure="failed")
    world.upload(A)
    world.upload(B, kind="broken")
    first = deploy(direct(A))

    result = deploy(direct(B))

    assert result["status"] == "failed" and result["rolled_back"] is True, result
    assert "rolled back" in result["reason"]
    assert "rollback" in result["timings_s"]
    endpoint = world.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == first["new"]["endpoint_config"]
    assert world.live_model_url() == artifact_url(A)
    # The next good release goes through as usual.
    world.upload(C)
    assert deploy(direct(C))["status"] == "deployed"


def test_a_failed_first_deploy_reports_failure_and_the_next_release_replaces_it(world):
    world.upload(A, kind="broken")
    world.upload(B)

    failed = deploy(direct(A))

    assert failed["status"] == "failed" and failed["rolled_back"] is False, failed
    assert "no previous config" in failed["reason"]
    assert world.endpoint()["EndpointStatus"] == "Failed"
    fixed = deploy(direct(B))
    assert fixed["status"] == "deployed", fixed
    assert world.endpoint()["EndpointStatus"] == "InService"


def test_two_events_at_once_are_deployed_one_after_the_other(world):
    for commit in (A, B, C):
        world.upload(commit)
    deploy(direct(A))
    results: dict[str, dict] = {}

    def run(commit: str) -> None:
        results[commit] = deploy(direct(commit))

    threads = [threading.Thread(target=run, args=(commit,)) for commit in (B, C)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert {r["status"] for r in results.values()} == {"deployed"}, results
    first, second = sorted(results.values(), key=lambda r: r["timings_s"]["lock_wait"])
    assert second["timings_s"]["lock_wait"] > 0.2  # it waited for the first to finish
    assert second["previous"]["endpoint_config"] == first["new"]["endpoint_config"]
    endpoint = world.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == second["new"]["endpoint_config"]
    assert world.locks() == []


def test_a_held_lock_makes_a_deploy_wait_then_give_up(world, monkeypatch):
    world.upload(A)
    monkeypatch.setenv("LOCK_WAIT_SECONDS", "0.3")
    held = {"lock_id": {"S": f"redeploy/{ENDPOINT}"}, "holder": {"S": "other"}, "note": {"S": "other run"}}
    world.ddb.put_item(TableName=LOCK_TABLE, Item={**held, "expires_at": {"N": str(int(time.time()) + 600)}})

    result = deploy(direct(A))  # in-process: the result; inside Lambda DeployBusy is raised

    assert result["status"] == "busy" and "another deploy holds the lock" in result["reason"], result
    assert world.model_names() == []


def test_an_expired_lock_of_a_crashed_run_does_not_block(world):
    world.upload(A)
    stale = {"lock_id": {"S": f"redeploy/{ENDPOINT}"}, "holder": {"S": "crashed"}, "note": {"S": "x"}}
    world.ddb.put_item(TableName=LOCK_TABLE, Item={**stale, "expires_at": {"N": str(int(time.time()) - 1)}})

    assert deploy(direct(A))["status"] == "deployed"
    assert world.locks() == []


def test_only_the_newest_configs_are_kept(world, monkeypatch):
    monkeypatch.setenv("KEEP_CONFIGS", "2")
    results = []
    for commit in (A, B, C):
        world.upload(commit)
        results.append(deploy(direct(commit)))

    assert results[2]["deleted_configs"] == [results[0]["new"]["endpoint_config"]]
    kept = sorted(r["new"]["endpoint_config"] for r in results[1:])
    assert world.config_names() == kept
    assert world.model_names() == kept  # each config's model goes with it


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ENDPOINT_NAME", None, "ENDPOINT_NAME is not set"),
        ("SERVERLESS_MEMORY_MB", "1500", "must be one of"),
        ("SERVERLESS_MAX_CONCURRENCY", "many", "is not a number"),
        ("SERVERLESS_PROVISIONED_CONCURRENCY", "9", "must not exceed"),
    ],
)
def test_a_misconfigured_lambda_says_which_variable(world, monkeypatch, name, value, message):
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)

    result = deploy(direct(A))

    assert result["status"] == "misconfigured" and message in result["reason"]


# --- UpdateRollbackFailed, KmsKeyId ---------------------------------------------------------------


def test_an_endpoint_in_update_rollback_failed_is_updated_not_deleted(world):
    """UpdateRollbackFailed still serves (a mix of configs): the next release updates it; deleting
    it would take production down."""
    world.upload(A)
    broken_url = world.upload(B, kind="broken")
    world.upload(C)
    first = deploy(direct(A))
    created = world.endpoint()["CreationTime"]
    # An update outside this Lambda whose rollback fails too.
    set_endpoint_behaviour(world.cloud_url, update_failure="rollback-failed")
    name = f"{ENDPOINT}-by-hand"
    world.sm.create_model(
        ModelName=name,
        ExecutionRoleArn=world.role_arn,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": broken_url},
    )
    world.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    world.sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=name)
    deadline = time.monotonic() + 10
    while world.endpoint()["EndpointStatus"] == "Updating" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert world.endpoint()["EndpointStatus"] == "UpdateRollbackFailed"

    result = deploy(direct(C))

    assert result["status"] == "deployed", result
    assert result["previous"]["status"] == "UpdateRollbackFailed"
    endpoint = world.endpoint()
    assert endpoint["EndpointStatus"] == "InService" and world.live_model_url() == artifact_url(C)
    assert endpoint["CreationTime"] == created  # updated in place, never deleted
    assert first["new"]["endpoint_config"] in world.config_names()


def test_a_failed_update_whose_rollback_fails_is_settled_on_the_previous_config(world):
    world.upload(A)
    world.upload(B, kind="broken")
    first = deploy(direct(A))
    created = world.endpoint()["CreationTime"]
    set_endpoint_behaviour(world.cloud_url, update_failure="rollback-failed")

    result = deploy(direct(B))

    assert result["status"] == "failed" and result["rolled_back"] is True, result
    endpoint = world.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == first["new"]["endpoint_config"]
    assert endpoint["CreationTime"] == created


def test_new_endpoint_configs_are_encrypted_with_the_project_key(world, monkeypatch):
    key = boto3.client("kms").create_key(Description="textclf")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("KMS_KEY_ARN", key)
    world.upload(A)

    result = deploy(direct(A))

    config = world.sm.describe_endpoint_config(EndpointConfigName=result["new"]["endpoint_config"])
    assert config["KmsKeyId"] == key


def test_with_capture_on_the_model_gets_where_to_write_sampled_texts(world, monkeypatch):
    monkeypatch.setenv("CAPTURE_URI", "s3://textclf-data/captured/textclf-test/")
    world.upload(A)

    result = deploy(direct(A))

    config = world.sm.describe_endpoint_config(EndpointConfigName=result["new"]["endpoint_config"])
    model = world.sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["Environment"] == {
        "MODEL_VERSION": A,
        "TEXTCLF_CAPTURE_URI": "s3://textclf-data/captured/textclf-test/",
    }


def test_a_capture_uri_that_is_not_s3_is_a_configuration_error():
    required = {"ARTIFACT_BUCKET": "bucket", "ENDPOINT_NAME": "e", "SERVING_IMAGE_URI": "i"}
    required |= {"SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/r", "LOCK_TABLE": "locks"}
    required |= {"CAPTURE_URI": "https://elsewhere.example/up"}
    with pytest.raises(
        redeploy.ConfigError, match=r"CAPTURE_URI='https://elsewhere\.example/up' must be an s3://"
    ):
        redeploy.Settings.from_env(required)


# --- inside Lambda: failures raise (retries, dead-letter queue), results for the workflow ---------


def _result_item(release_id: str) -> dict:
    return (
        world_ddb()
        .get_item(TableName=LOCK_TABLE, Key={"lock_id": {"S": f"result/{release_id}"}}, ConsistentRead=True)
        .get("Item", {})
    )


def world_ddb():
    return boto3.client("dynamodb")


def test_inside_lambda_a_failed_deploy_raises_with_the_result_and_records_it(world):
    world.upload(A)
    world.upload(B, kind="broken")
    deploy(direct(A))
    context = SimpleNamespace(aws_request_id="req-1", get_remaining_time_in_millis=lambda: 60_000)

    with pytest.raises(redeploy.RedeployFailed) as raised:
        redeploy.handler({**direct(B), "release_id": "rel-1"}, context)

    result = json.loads(str(raised.value))  # a synchronous caller reads it as errorMessage
    assert result["status"] == "failed" and result["rolled_back"] is True
    item = _result_item("rel-1")
    assert item["attempts"]["N"] == "1" and item["result_attempt"]["N"] == "1"
    assert json.loads(item["result"]["S"])["status"] == "failed"
    # A rejection is returned: the same event would be rejected again.
    rejected = redeploy.handler({"model_data_url": "s3://elsewhere/x", "release_id": "rel-2"}, context)
    assert rejected["status"] == "rejected"
    assert json.loads(_result_item("rel-2")["result"]["S"])["status"] == "rejected"


def test_an_asynchronous_failure_is_retried_and_reaches_the_dead_letter_queue(world, local_cloud):
    """The real zip, invoked asynchronously: a failing deploy raises, Lambda retries it (once, as
    Terraform configures), the retry is counted on the result record, then the event goes to the
    dead-letter queue."""
    from test_lambda_package import create_function

    from textclf.localcloud import lambdas

    zip_path = Path(tempfile.mkdtemp()) / "redeploy.zip"
    lambda_zip.build(redeploy.ZIP_FILES, str(zip_path))
    world.upload(A)
    world.upload(B, kind="broken")
    deploy(direct(A))
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="textclf-redeploy-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = create_function(
        zip_path.read_bytes(), "textclf.release.redeploy.handler", lambda_environment(world.role_arn)
    )
    client = boto3.client("lambda")
    # The role Terraform gives the function may send to its dead-letter queue (tests/roles.py has
    # no such statement: added here for this queue).
    role = client.get_function_configuration(FunctionName=name)["Role"].rsplit("/", 1)[1]
    boto3.client("iam").put_role_policy(
        RoleName=role,
        PolicyName="dead-letter",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}],
            }
        ),
    )
    client.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": queue_arn})
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    lambdas.async_attempts.clear()

    response = client.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({**direct(B), "release_id": "rel-async"}),
    )

    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 90
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
    assert [a["failed"] for a in lambdas.async_attempts if a["function"] == name] == [True, True]
    (message,) = messages
    assert json.loads(message["Body"])["model_data_url"] == artifact_url(B)
    assert '"status": "failed"' in message["MessageAttributes"]["ErrorMessage"]["StringValue"]
    item = _result_item("rel-async")
    assert item["attempts"]["N"] == "2" and item["result_attempt"]["N"] == "2"
    assert world.live_model_url() == artifact_url(A)  # still serving the previous model


def attempts(lambdas, count: int) -> list[bool]:
    """The local cloud's record of asynchronous attempts (it is appended just after the function
    process exits, so shortly after the result it wrote)."""
    deadline = time.monotonic() + 10
    while len(lambdas.async_attempts) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [a["failed"] for a in lambdas.async_attempts]


def test_promote_starts_the_lambda_asynchronously_and_waits_for_its_recorded_result(world, local_cloud):
    """`textclf promote`'s invocation: no connection held while the Lambda deploys (InvocationType
    Event), the outcome read from the lock table; a failure is final only after Lambda's retry."""
    from test_lambda_package import create_function

    from textclf.localcloud import lambdas
    from textclf.release import promote

    zip_path = Path(tempfile.mkdtemp()) / "redeploy.zip"
    lambda_zip.build(redeploy.ZIP_FILES, str(zip_path))
    world.upload(A)
    world.upload(B, kind="broken")
    name = create_function(
        zip_path.read_bytes(), "textclf.release.redeploy.handler", lambda_environment(world.role_arn)
    )
    client = boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    lambdas.async_attempts.clear()

    started = time.monotonic()
    result = promote.invoke_redeploy(client, world.ddb, name, direct(A), timeout_s=60, poll_s=0.1)

    assert result["status"] == "deployed" and result["model_version"] == A, result
    assert attempts(lambdas, 1) == [False]
    assert world.live_model_url() == artifact_url(A)
    with pytest.raises(
        promote.ReleaseError, match=r"redeploy Lambda textclf-redeploy: failed: .*\(after 2 attempts\)"
    ):
        promote.invoke_redeploy(client, world.ddb, name, direct(B), timeout_s=60, poll_s=0.1)
    assert attempts(lambdas, 3) == [False, True, True]  # retried once, then final
    assert world.live_model_url() == artifact_url(A)
    # A second promote of the live model is a no-op for the Lambda (idempotent).
    again = promote.invoke_redeploy(client, world.ddb, name, direct(A), timeout_s=60, poll_s=0.1)
    assert again["status"] == "already_live"
    assert time.monotonic() - started < 60
