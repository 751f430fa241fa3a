"""The local cloud's API Gateway v2 control plane refuses the HTTP API settings API Gateway refuses
(BadRequestException 400, ConflictException 409) and stores nothing; a route whose authorizer the
local cloud does not evaluate is refused, never served unauthenticated (R14B-30)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest

from tests.infra.test_localcloud_lambda_checks import function, refused  # noqa: F401  (function: a fixture)

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:fp"
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/a1"


@pytest.fixture
def api(aws_env):
    gateway = boto3.client("apigatewayv2")
    api_id = gateway.create_api(Name="a1", ProtocolType="HTTP")["ApiId"]
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FUNCTION, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    return gateway, api_id, integration


def route_keys(gateway, api_id: str) -> list[str]:
    return sorted(route["RouteKey"] for route in gateway.get_routes(ApiId=api_id)["Items"])


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"RouteKey": "POST predict"}, "must start with '/'"),
        ({"RouteKey": "FETCH /x"}, "METHOD one of"),
        ({"RouteKey": "POST /{proxy+}/more"}, "greedy"),
        ({"RouteKey": "POST /y", "AuthorizationType": "MAGIC"}, "Invalid authorization type 'MAGIC'"),
        ({"RouteKey": "POST /y", "AuthorizationType": "JWT"}, "AuthorizerId"),
        ({"RouteKey": "POST /z", "Target": "integrations/nope"}, "Invalid target"),
    ],
)
def test_create_route_refuses_what_api_gateway_refuses(api, settings, expected):
    gateway, api_id, _ = api
    assert expected in refused(
        lambda: gateway.create_route(ApiId=api_id, **settings), "BadRequestException", 400
    )
    assert route_keys(gateway, api_id) == []


def test_a_route_key_is_unique_in_its_api(api):
    gateway, api_id, integration = api
    first = gateway.create_route(ApiId=api_id, RouteKey="POST /dup", Target=f"integrations/{integration}")
    refused(lambda: gateway.create_route(ApiId=api_id, RouteKey="POST /dup"), "ConflictException", 409)
    other = gateway.create_route(ApiId=api_id, RouteKey="ANY /a/{proxy+}")["RouteId"]
    refused(
        lambda: gateway.update_route(ApiId=api_id, RouteId=other, RouteKey="POST /dup"),
        "ConflictException",
        409,
    )
    refused(
        lambda: gateway.update_route(ApiId=api_id, RouteId=other, AuthorizationType="MAGIC"),
        "BadRequestException",
        400,
    )
    gateway.update_route(
        ApiId=api_id, RouteId=first["RouteId"], RouteKey="POST /dup", AuthorizationType="AWS_IAM"
    )
    assert route_keys(gateway, api_id) == ["ANY /a/{proxy+}", "POST /dup"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"StageName": "bad stage!"}, "Invalid stage name"),
        ({"StageName": "s1", "DefaultRouteSettings": {"ThrottlingBurstLimit": -5}}, "ThrottlingBurstLimit"),
        ({"StageName": "s1", "DefaultRouteSettings": {"ThrottlingRateLimit": -1.0}}, "ThrottlingRateLimit"),
        ({"StageName": "s1", "RouteSettings": {"POST /x": {"ThrottlingBurstLimit": -1}}}, "RouteSettings"),
        (
            {
                "StageName": "s1",
                "AccessLogSettings": {"DestinationArn": LOG_GROUP, "Format": "no context vars"},
            },
            "must include $context.requestId",
        ),
        (
            {
                "StageName": "s1",
                "AccessLogSettings": {"DestinationArn": "not-an-arn", "Format": "$context.requestId"},
            },
            "DestinationArn",
        ),
    ],
)
def test_create_stage_refuses_what_api_gateway_refuses(api, settings, expected):
    gateway, api_id, _ = api
    assert expected in refused(
        lambda: gateway.create_stage(ApiId=api_id, **settings), "BadRequestException", 400
    )
    assert gateway.get_stages(ApiId=api_id)["Items"] == []


def test_a_stage_name_is_unique_in_its_api(api):
    gateway, api_id, _ = api
    gateway.create_stage(
        ApiId=api_id,
        StageName="$default",
        DefaultRouteSettings={"ThrottlingBurstLimit": 0, "ThrottlingRateLimit": 0.5},
        AccessLogSettings={
            "DestinationArn": LOG_GROUP,
            "Format": json.dumps({"id": "$context.extendedRequestId"}),
        },
    )
    gateway.create_stage(ApiId=api_id, StageName="prod_2-b")
    refused(lambda: gateway.create_stage(ApiId=api_id, StageName="prod_2-b"), "ConflictException", 409)
    assert sorted(stage["StageName"] for stage in gateway.get_stages(ApiId=api_id)["Items"]) == [
        "$default",
        "prod_2-b",
    ]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"PayloadFormatVersion": "3.0"}, "PayloadFormatVersion"),
        ({"IntegrationType": "MOCK"}, "integration type"),
        ({"TimeoutInMillis": 30_001}, "TimeoutInMillis"),
    ],
)
def test_integrations_api_gateway_refuses_are_refused(api, settings, expected):
    gateway, api_id, integration = api
    request = {"ApiId": api_id, "IntegrationType": "AWS_PROXY", "IntegrationUri": FUNCTION, **settings}
    assert expected in refused(lambda: gateway.create_integration(**request), "BadRequestException", 400)
    update = {"ApiId": api_id, "IntegrationId": integration, **settings}
    assert expected in refused(lambda: gateway.update_integration(**update), "BadRequestException", 400)
    assert len(gateway.get_integrations(ApiId=api_id)["Items"]) == 1


def test_a_route_with_an_authorizer_the_local_cloud_does_not_evaluate_is_refused_not_served_open(
    api, aws_env
):
    gateway, api_id, integration = api
    authorizer = gateway.create_authorizer(
        ApiId=api_id,
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Audience": ["a"], "Issuer": "https://issuer.example.com"},
        Name="jwt",
    )["AuthorizerId"]
    gateway.create_route(
        ApiId=api_id,
        RouteKey="POST /predict",
        AuthorizationType="JWT",
        AuthorizerId=authorizer,
        Target=f"integrations/{integration}",
    )
    gateway.create_stage(ApiId=api_id, StageName="$default")
    url = f"{aws_env['AWS_ENDPOINT_URL']}/_aws/execute-api/{api_id}/predict"
    request = urllib.request.Request(url, data=b'{"inputs": "x"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 401
    assert json.loads(caught.value.read()) == {"message": "Unauthorized"}


# --- the invoke URL's payloads (R14B-40) -----------------------------------------------------------


@pytest.fixture
def open_route(api, function, aws_env):  # noqa: F811  (function: an echo function "fp")
    """POST /predict without authorization, to the echo function API Gateway may invoke; its URL."""
    gateway, api_id, integration = api
    gateway.create_route(ApiId=api_id, RouteKey="POST /predict", Target=f"integrations/{integration}")
    gateway.create_stage(ApiId=api_id, StageName="$default")
    function.add_permission(
        FunctionName="fp",
        StatementId="api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*",
    )
    return f"{aws_env['AWS_ENDPOINT_URL']}/_aws/execute-api/{api_id}/predict"


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def invocations() -> int:
    streams = boto3.client("logs").describe_log_streams(logGroupName="/aws/lambda/fp")["logStreams"]
    return len(streams)


def test_a_request_over_10_mb_is_413_before_any_function_runs(open_route):
    assert post(open_route, b'{"inputs": "hello"}')[0] == 200
    ran = invocations()
    status, body = post(open_route, b'{"inputs": "' + b"x" * (10 * 1024 * 1024) + b'"}')
    assert (status, body) == (413, {"message": "Request Entity Too Large"})
    assert invocations() == ran


def test_an_event_over_lambdas_6_mb_is_not_invoked(open_route):
    status, body = post(open_route, b'{"inputs": "' + b"x" * (7 * 1024 * 1024) + b'"}')
    assert (status, body) == (500, {"message": "Internal Server Error"})


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_body_that_is_not_utf8_reaches_the_function_base64_encoded(open_route, content_type):
    import base64

    status, event = post(open_route, b'{"inputs": "caf\xe9"}', content_type)
    assert status == 200, event
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b'{"inputs": "caf\xe9"}'


def test_update_stage_changes_what_it_is_given_as_create_stage_checks_it(api):
    """moto had no UpdateStage (an HTML 500): a second apply changing api.tf's throttling failed here."""
    gateway, api_id, _ = api
    gateway.create_stage(
        ApiId=api_id, StageName="$default", RouteSettings={"POST /a": {"ThrottlingBurstLimit": 1}}
    )
    gateway.update_stage(
        ApiId=api_id,
        StageName="$default",
        DefaultRouteSettings={"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 1.0},
        RouteSettings={"POST /b": {"ThrottlingBurstLimit": 2}},
    )
    stage = gateway.get_stage(ApiId=api_id, StageName="$default")
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 1.0}
    assert stage["RouteSettings"] == {
        "POST /a": {"ThrottlingBurstLimit": 1},
        "POST /b": {"ThrottlingBurstLimit": 2},
    }
    for change in (
        {"DefaultRouteSettings": {"ThrottlingBurstLimit": -5}},
        {"AccessLogSettings": {"DestinationArn": LOG_GROUP, "Format": "no context vars"}},
    ):
        refused(
            lambda change=change: gateway.update_stage(ApiId=api_id, StageName="$default", **change),
            "BadRequestException",
            400,
        )
    assert (
        gateway.get_stage(ApiId=api_id, StageName="$default")["DefaultRouteSettings"]["ThrottlingBurstLimit"]
        == 5
    )
    refused(
        lambda: gateway.update_stage(ApiId=api_id, StageName="absent", Description="x"),
        "NotFoundException",
        404,
    )
