"""The local cloud's SageMaker endpoint extension, through boto3 as any client sees it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from redeploy_world import COMMITS, set_endpoint_behaviour

A, B = COMMITS[:2]


def make_config(world, name: str, commit: str, kind: str = "good") -> str:
    url = world.upload(commit, kind)
    world.sm.create_model(
        ModelName=name,
        ExecutionRoleArn=world.role_arn,
        PrimaryContainer={"Image": "img", "ModelDataUrl": url},
    )
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": 1}
    world.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "ServerlessConfig": serverless}],
    )
    return name


def settle(world, name: str = "ep", timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = world.sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] not in {"Creating", "Updating"} or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def test_create_then_update_take_time_and_switch_the_config(world):
    make_config(world, "one", A)
    make_config(world, "two", B)

    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    assert world.sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
    assert settle(world)["EndpointStatus"] == "InService"

    world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="two")
    updating = world.sm.describe_endpoint(EndpointName="ep")
    assert updating["EndpointStatus"] == "Updating" and updating["EndpointConfigName"] == "one"
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="one")
    done = settle(world)
    assert done["EndpointStatus"] == "InService" and done["EndpointConfigName"] == "two"
    assert done["ProductionVariants"][0]["CurrentServerlessConfig"]["MaxConcurrency"] == 1
    assert world.sm.list_endpoints()["Endpoints"][0]["EndpointStatus"] == "InService"


def test_api_errors_match_sagemaker(world):
    make_config(world, "one", A)
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")

    with pytest.raises(ClientError, match="Cannot create already existing endpoint"):
        world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    settle(world)
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="missing")
    with pytest.raises(ClientError, match="Could not find endpoint"):
        world.sm.update_endpoint(EndpointName="nope", EndpointConfigName="one")


def test_a_model_that_would_not_start_fails_creation(world):
    make_config(world, "broken", A, kind="broken")

    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="broken")

    failed = settle(world)
    assert failed["EndpointStatus"] == "Failed"
    assert "lacks model weights" in failed["FailureReason"]


def test_a_failed_update_rolls_back_like_sagemaker(world):
    make_config(world, "one", A)
    make_config(world, "broken", B, kind="broken")
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    settle(world)

    world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="broken")

    after = settle(world)
    assert after["EndpointStatus"] == "InService" and after["EndpointConfigName"] == "one"
    assert "health check" in after["FailureReason"]


def test_a_failed_update_can_be_set_to_end_failed(world):
    set_endpoint_behaviour(world.cloud_url, update_failure="failed")
    make_config(world, "one", A)
    make_config(world, "broken", B, kind="broken")
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    settle(world)

    world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="broken")

    after = settle(world)
    assert after["EndpointStatus"] == "Failed" and after["EndpointConfigName"] == "broken"
    with pytest.raises(ClientError, match="in status Failed"):
        world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="one")


def test_missing_or_unreadable_model_data_fails(world):
    world.s3.put_object(Bucket="textclf-artifacts", Key="models/x/model.tar.gz", Body=b"not a tarball")
    for name, url in [
        ("absent", "s3://textclf-artifacts/none.tar.gz"),
        ("garbage", "s3://textclf-artifacts/models/x/model.tar.gz"),
    ]:
        world.sm.create_model(
            ModelName=name,
            ExecutionRoleArn=world.role_arn,
            PrimaryContainer={"Image": "i", "ModelDataUrl": url},
        )
        world.sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": name,
                    "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
                }
            ],
        )
        world.sm.create_endpoint(EndpointName=name, EndpointConfigName=name)

    assert "Could not find model data" in settle(world, "absent")["FailureReason"]
    assert "Failed to extract" in settle(world, "garbage")["FailureReason"]


def test_the_control_endpoint_validates_and_reset_restores_defaults(world, local_cloud):
    with pytest.raises(urllib.error.HTTPError) as error:
        set_endpoint_behaviour(world.cloud_url, update_failure="explode")
    assert error.value.code == 400
    with pytest.raises(urllib.error.HTTPError):
        set_endpoint_behaviour(world.cloud_url, speed=3)

    local_cloud.reset()

    url = f"{world.cloud_url}/moto-api/textclf/sagemaker-endpoints"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert json.load(response) == {
            "transition_seconds": 1.0,
            "update_failure": "rollback",
            "serverless_concurrency_quota": 200,
        }


# --- rules SageMaker enforces that moto does not (the local cloud refuses what AWS refuses) -------


def _serverless_variant(model: str, name: str = "AllTraffic") -> dict:
    return {
        "VariantName": name,
        "ModelName": model,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
    }


def test_serverless_configs_refuse_what_serverless_excludes(world):
    """Serverless Inference feature exclusions: network isolation, data capture, several variants."""
    url = world.upload(A, "good")
    container = {"Image": "img", "ModelDataUrl": url}
    world.sm.create_model(
        ModelName="isolated",
        ExecutionRoleArn=world.role_arn,
        PrimaryContainer=container,
        EnableNetworkIsolation=True,
    )
    world.sm.create_model(ModelName="plain", ExecutionRoleArn=world.role_arn, PrimaryContainer=container)

    with pytest.raises(ClientError, match="network isolation"):
        world.sm.create_endpoint_config(
            EndpointConfigName="c1", ProductionVariants=[_serverless_variant("isolated")]
        )
    with pytest.raises(ClientError, match="one production variant"):
        world.sm.create_endpoint_config(
            EndpointConfigName="c2",
            ProductionVariants=[_serverless_variant("plain"), _serverless_variant("plain", "Second")],
        )
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 10,
        "DestinationS3Uri": "s3://textclf-artifacts/captured/",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    with pytest.raises(ClientError, match="DataCaptureConfig is not supported"):
        world.sm.create_endpoint_config(
            EndpointConfigName="c3",
            ProductionVariants=[_serverless_variant("plain")],
            DataCaptureConfig=capture,
        )
    world.sm.create_endpoint_config(
        EndpointConfigName="ok", ProductionVariants=[_serverless_variant("plain")]
    )
    assert [c["EndpointConfigName"] for c in world.sm.list_endpoint_configs()["EndpointConfigs"]] == ["ok"]


def test_a_failed_endpoint_accepts_only_delete(world, local_cloud):
    set_endpoint_behaviour(local_cloud.url, update_failure="failed")
    make_config(world, "one", A)
    make_config(world, "bad", B, "broken")
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    settle(world)
    world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="bad")
    assert settle(world)["EndpointStatus"] == "Failed"

    with pytest.raises(ClientError, match="in status Failed"):
        world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="one")
    world.sm.delete_endpoint(EndpointName="ep")
    assert world.sm.list_endpoints()["Endpoints"] == []


def test_a_rollback_that_fails_leaves_the_endpoint_serving_as_update_rollback_failed(world, local_cloud):
    set_endpoint_behaviour(local_cloud.url, update_failure="rollback-failed")
    make_config(world, "one", A)
    make_config(world, "bad", B, "broken")
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    settle(world)
    world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="bad")

    done = settle(world)
    assert done["EndpointStatus"] == "UpdateRollbackFailed" and "lacks model weights" in done["FailureReason"]


def test_model_data_its_role_may_not_read_fails_the_endpoint(world):
    """The container reads its model as the model's execution role, as on AWS."""
    import boto3
    from tests.roles import create_role

    reader = create_role(
        "textclf-reads-nothing",
        "sagemaker.amazonaws.com",
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::some-other-bucket/*"}],
    )
    url = world.upload(A, "good")
    world.sm.create_model(
        ModelName="m", ExecutionRoleArn=reader, PrimaryContainer={"Image": "img", "ModelDataUrl": url}
    )
    world.sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[_serverless_variant("m")])
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="c")

    failed = settle(world)
    assert failed["EndpointStatus"] == "Failed"
    reason = failed["FailureReason"]
    assert f"Could not access model data at {url}" in reason
    assert (
        "not authorized to perform: s3:GetObject" in reason and "assumed-role/textclf-reads-nothing" in reason
    )
    assert boto3.client("iam").get_role(
        RoleName="textclf-reads-nothing"
    )  # the role exists: access, not a typo


def test_an_update_rollback_failed_endpoint_still_answers(world, local_cloud):
    """UpdateRollbackFailed is in service with mixed configs: InvokeEndpoint is answered."""
    import boto3

    set_endpoint_behaviour(local_cloud.url, update_failure="rollback-failed")
    make_config(world, "one", A)
    make_config(world, "bad", B, "broken")
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    settle(world)
    world.sm.update_endpoint(EndpointName="ep", EndpointConfigName="bad")
    assert settle(world)["EndpointStatus"] == "UpdateRollbackFailed"
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="ep", ContentType="application/json", Body=json.dumps({"inputs": ["hello"]}).encode()
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
