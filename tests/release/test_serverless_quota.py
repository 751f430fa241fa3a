"""The account's quota for the total concurrency of its Serverless endpoints: the local cloud
refuses CreateEndpoint and UpdateEndpoint past it (ResourceLimitExceeded), and the redeploy Lambda
names the quota and leaves the endpoint serving what it served."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from redeploy_world import COMMITS, ENDPOINT, artifact_url, direct_event, set_endpoint_behaviour

from textclf.release import redeploy

A, B = COMMITS[:2]


def serverless_config(world, name: str, commit: str, concurrency: int) -> str:
    url = world.upload(commit)
    world.sm.create_model(
        ModelName=name,
        ExecutionRoleArn=world.role_arn,
        PrimaryContainer={"Image": "img", "ModelDataUrl": url},
    )
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": concurrency}
    world.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "ServerlessConfig": serverless}],
    )
    return name


def test_endpoints_past_the_accounts_serverless_concurrency_are_refused(world):
    set_endpoint_behaviour(world.cloud_url, serverless_concurrency_quota=10)
    world.sm.create_endpoint(EndpointName="staging", EndpointConfigName=serverless_config(world, "s5", A, 5))
    serverless_config(world, "p6", B, 6)
    serverless_config(world, "p5", B, 5)

    with pytest.raises(ClientError) as refused:
        world.sm.create_endpoint(EndpointName="production", EndpointConfigName="p6")
    assert refused.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert "'Maximum total concurrency that can be allocated across all serverless endpoints' is 10" in str(
        refused.value
    )
    assert "current utilization of 5 and a request delta of 6" in str(refused.value)

    world.sm.create_endpoint(EndpointName="production", EndpointConfigName="p5")  # 5 + 5 fits
    with pytest.raises(ClientError, match="ResourceLimitExceeded"):
        world.sm.update_endpoint(EndpointName="staging", EndpointConfigName="p6")


def test_the_redeploy_names_the_quota_and_keeps_the_live_model(world, monkeypatch):
    set_endpoint_behaviour(world.cloud_url, serverless_concurrency_quota=10)
    world.sm.create_endpoint(EndpointName="staging", EndpointConfigName=serverless_config(world, "s5", A, 5))
    world.upload(A)
    world.upload(B)
    assert redeploy.handler(direct_event(A), None)["ok"]  # 5 + 5

    monkeypatch.setenv("SERVERLESS_MAX_CONCURRENCY", "6")
    result = redeploy.handler(direct_event(B), None)

    assert not result["ok"] and result["status"] == "quota"
    assert (
        "Maximum total concurrency that can be allocated across all serverless endpoints" in result["reason"]
    )
    assert "asks MaxConcurrency 6" in result["reason"] and "Service Quotas" in result["reason"]
    assert world.live_model_url() == artifact_url(A)
    assert world.sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"
