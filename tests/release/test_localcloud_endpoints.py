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
        assert json.load(response) == {"transition_seconds": 1.0, "update_failure": "rollback"}
