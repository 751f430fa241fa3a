"""The local cloud's SageMaker refuses what SageMaker refuses (issue 27, R14B-3, R14B-4, R14B-5,
R14B-43): a model or endpoint configuration created again under its name (moto replaced it; AWS:
"Cannot create already existing ..."), names outside SageMaker's pattern, a Serverless MaxConcurrency
outside 1-200 or a ProvisionedConcurrency above it, a VariantName given twice; and the endpoint
settings hook takes finite numbers of the right type only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from redeploy_world import COMMITS

A = COMMITS[0]


def model(world, name: str = "plain") -> str:
    url = world.upload(A, "good")
    world.sm.create_model(
        ModelName=name,
        ExecutionRoleArn=world.role_arn,
        PrimaryContainer={"Image": "img", "ModelDataUrl": url},
    )
    return name


def variant(name: str = "AllTraffic", **serverless) -> dict:
    config = {"MemorySizeInMB": 2048, "MaxConcurrency": 1, **serverless}
    return {"VariantName": name, "ModelName": "plain", "ServerlessConfig": config}


def refused(call, match: str) -> None:
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert match in error.value.response["Error"]["Message"], error.value.response["Error"]["Message"]


def test_a_model_or_config_created_again_is_refused_and_kept(world):
    model(world)
    world.sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant()])

    refused(lambda: model(world), 'Cannot create already existing model "arn:aws:sagemaker:')
    refused(
        lambda: world.sm.create_endpoint_config(
            EndpointConfigName="c", ProductionVariants=[variant(MaxConcurrency=5)]
        ),
        "Cannot create already existing endpoint configuration",
    )
    config = world.sm.describe_endpoint_config(EndpointConfigName="c")
    assert config["ProductionVariants"][0]["ServerlessConfig"]["MaxConcurrency"] == 1  # not replaced


@pytest.mark.parametrize("name", ["bad_name", "bad!", "m" * 64, "-lead", "trail-"])
def test_names_sagemaker_refuses_are_refused(world, name):
    model(world)
    pattern = "failed to satisfy constraint: Member must satisfy regular expression pattern"
    refused(lambda: model(world, name), pattern)
    refused(
        lambda: world.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant()]),
        pattern,
    )
    refused(lambda: world.sm.create_endpoint(EndpointName=name, EndpointConfigName="c"), pattern)
    refused(lambda: world.sm.create_model_package_group(ModelPackageGroupName=name), pattern)


@pytest.mark.parametrize(
    ("variants", "match"),
    [
        ([variant(MaxConcurrency=9999)], "Member must have value between 1 and 200"),
        ([variant(MaxConcurrency=2, ProvisionedConcurrency=3)], "ProvisionedConcurrency 3 must be from 1 to"),
        ([variant(), variant()], "Variant names must be unique"),
    ],
    ids=["max-concurrency", "provisioned-above-max", "variant-twice"],
)
def test_serverless_settings_sagemaker_refuses_are_refused(world, variants, match):
    model(world)
    refused(
        lambda: world.sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=variants), match
    )
    assert world.sm.list_endpoint_configs()["EndpointConfigs"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"transition_seconds": "nan"},
        {"transition_seconds": "0.5"},
        {"transition_seconds": 1e309},
        {"transition_seconds": 86401},
        {"serverless_concurrency_quota": 1e300},
        {"serverless_concurrency_quota": True},
        [],
        "s",
    ],
)
def test_the_endpoint_settings_hook_takes_finite_numbers_only(world, body):
    raw = json.dumps(body).replace("1e+309", "1e309")
    request = urllib.request.Request(
        f"{world.cloud_url}/moto-api/textclf/sagemaker-endpoints",
        data=raw.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400
    assert "error" in json.load(error.value)


@pytest.mark.parametrize(
    ("container", "match"),
    [
        ({"Image": "a b"}, "primaryContainer.image"),
        ({"ModelDataUrl": "ftp://x/y"}, "primaryContainer.modelDataUrl"),
        ({"Environment": {"1-bad": "x"}}, "primaryContainer.environment.key"),
        ({"Environment": {"A": "x" * 2000}}, "primaryContainer.environment.A"),
        ({"Environment": {f"K{n}": "v" for n in range(101)}}, "primaryContainer.environment"),
    ],
    ids=["image-space", "ftp-url", "env-key", "env-value-2000", "env-101-entries"],
)
def test_a_model_container_sagemaker_refuses_is_refused(world, container, match):
    """R14B-4's later inputs: CreateModel's ContainerDefinition constraints (API reference)."""
    url = world.upload(A, "good")
    primary = {"Image": "img", "ModelDataUrl": url, **container}
    refused(
        lambda: world.sm.create_model(
            ModelName="m", ExecutionRoleArn=world.role_arn, PrimaryContainer=primary
        ),
        match,
    )
    assert world.sm.list_models()["Models"] == []


@pytest.mark.parametrize(
    ("tags", "match"),
    [
        ([{"Key": f"k{n}", "Value": "v"} for n in range(51)], "at most 50"),
        ([{"Key": "aws:owner", "Value": "v"}], "the aws: prefix is reserved"),
    ],
    ids=["51-tags", "aws-prefix"],
)
def test_tags_sagemaker_refuses_are_refused(world, tags, match):
    arn = world.sm.describe_model(ModelName=model(world))["ModelArn"]
    refused(lambda: world.sm.add_tags(ResourceArn=arn, Tags=tags), match)
    assert world.sm.list_tags(ResourceArn=arn)["Tags"] == []
    world.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}])  # an ordinary tag still goes on
