"""The local cloud's InvokeEndpoint refuses before the container what SageMaker refuses (issue 27,
R14B-9): a body over 4 MB on a Serverless endpoint ("The maximum request and response payload size
for serverless invocations is 4 MB"), CustomAttributes over 1,024 and InferenceId over 64 characters,
a TargetVariant naming no variant, a TargetModel or InferenceComponentName on an endpoint without
them: ValidationError (HTTP 400), where all were answered 200 with a prediction."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from redeploy_world import COMMITS
from test_localcloud_endpoints import make_config, settle

HELLO = json.dumps({"inputs": ["hello"]}).encode()
REFUSED = {
    "serverless-body-over-4mb": {"Body": json.dumps({"inputs": ["x" * (4 * 1024 * 1024)]}).encode()},
    "custom-attributes-2000": {"CustomAttributes": "a" * 2000},
    "inference-id-100": {"InferenceId": "i" * 100},
    "target-variant-nope": {"TargetVariant": "nope"},
    "target-model": {"TargetModel": "x.tar.gz"},
    "inference-component": {"InferenceComponentName": "ic1"},
}


@pytest.fixture
def endpoint(world):
    make_config(world, "one", COMMITS[0])
    world.sm.create_endpoint(EndpointName="ep", EndpointConfigName="one")
    assert settle(world)["EndpointStatus"] == "InService"
    # botocore checks none of these maxima itself; one attempt, so the refusal is what is seen.
    return boto3.client("sagemaker-runtime", config=Config(retries={"total_max_attempts": 1}))


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_invocation_sagemaker_refuses_never_reaches_the_container(endpoint, case):
    request = {"EndpointName": "ep", "ContentType": "application/json", "Body": HELLO, **REFUSED[case]}

    with pytest.raises(ClientError) as refused:
        endpoint.invoke_endpoint(**request)

    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_invocation_within_the_limits_is_answered(endpoint):
    answer = endpoint.invoke_endpoint(
        EndpointName="ep",
        ContentType="application/json",
        Body=HELLO,
        TargetVariant="AllTraffic",
        InferenceId="i1",
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
