"""The API front door rehearsed on the Terraform-made account (tests/iam applies it with enable_api):
a SigV4-signed request from a caller allowed execute-api:Invoke on the route gets a prediction from
the endpoint, through the proxy Lambda running as its own role; an unsigned request, and a signed
one from a caller without that permission, get 403 from the local cloud's IAM engine; the route's
throttling answers 429; every request leaves an access log line naming the caller."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.batch.batch_world import assume_caller
from tests.iam.conftest import Account
from tests.iam.test_attacks import endpoint_unchanged  # noqa: F401  (an endpoint serving a released model)
from tests.roles import ACCOUNT

pytestmark = pytest.mark.slow  # shares the Terraform-made account of tests/iam


def post(
    account: Account, body: object, credentials: dict[str, str] | None, path: str = ""
) -> tuple[int, dict]:
    """POST <invoke URL>/predict, signed with SigV4 for execute-api when credentials are given."""
    path = path or f"{account.outputs['api_id']}/predict"
    url = f"{account.admin['AWS_ENDPOINT_URL']}/_aws/execute-api/{path}"
    request = AWSRequest(
        method="POST", url=url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    if credentials is not None:
        keys = Credentials(
            credentials["AWS_ACCESS_KEY_ID"],
            credentials["AWS_SECRET_ACCESS_KEY"],
            credentials.get("AWS_SESSION_TOKEN"),
        )
        SigV4Auth(keys, "execute-api", account.outputs["region"]).add_auth(request)
    prepared = urllib.request.Request(url, data=request.body, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(prepared, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def access_log(account: Account) -> list[dict]:
    logs = boto3.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/apigateway/{account.outputs['endpoint_name']}-api")
    return [json.loads(event["message"]) for event in events["events"]]


@pytest.fixture
def route(env: Account, endpoint_unchanged) -> str:  # noqa: F811
    return env.outputs["api_invoke_resource_arn"]


def test_a_signed_authorized_request_gets_a_prediction_and_others_get_403(env: Account, route: str):
    allowed = assume_caller(
        "app-checkout", [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": route}]
    )
    # Allowed on the API's other routes (a GET), not on POST /predict: IAM, not the signature, refuses.
    elsewhere = route.replace("/POST/", "/GET/")
    other = assume_caller(
        "app-reporting", [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": elsewhere}]
    )

    status, body = post(env, {"inputs": ["Where is my parcel?", "I was charged twice"]}, allowed)
    assert status == 200, body
    assert len(body["predictions"]) == 2 and body["model_version"]

    status, body = post(env, {"inputs": "Where is my parcel?"}, other)
    assert status == 403
    assert "app-reporting" in body["message"]
    assert f"execute-api:Invoke on resource: {route}" in body["message"]

    status, body = post(env, {"inputs": "Where is my parcel?"}, None)
    assert status == 403 and body["message"] == "Forbidden"

    forged = {**allowed, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    status, body = post(env, {"inputs": "Where is my parcel?"}, forged)
    assert status == 403 and "Forbidden" in body["message"]

    # No route for another path: 404, before any authorization (a route names method and path).
    elsewhere_url = env.outputs["api_id"] + "/health"
    status, body = post(env, {"inputs": "Where is my parcel?"}, allowed, path=elsewhere_url)
    assert status == 404 and body["message"] == "Not Found"

    # The proxy's own checks still apply behind the authorization.
    status, body = post(env, {"inputs": "x" * 5001}, allowed)
    assert status == 413 and "at most 5000" in body["error"]

    lines = access_log(env)
    by_status = {}
    for line in lines:
        by_status.setdefault(line["status"], []).append(line)
    assert any(line["caller"].endswith("assumed-role/app-checkout/batch") for line in by_status["200"])
    assert any(line["caller"].endswith("assumed-role/app-reporting/batch") for line in by_status["403"])
    assert all(line["routeKey"] == "POST /predict" for line in lines if line["status"] != "404")
    assert [line["routeKey"] for line in by_status["404"]] == ["-"]


def test_the_routes_throttling_answers_429(env: Account, route: str):
    from moto.apigatewayv2.models import apigatewayv2_backends

    allowed = assume_caller(
        "app-burst", [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": route}]
    )
    described = boto3.client("apigatewayv2").get_stage(ApiId=env.outputs["api_id"], StageName="$default")
    settings = described["RouteSettings"]["POST /predict"]
    assert (settings["ThrottlingBurstLimit"], settings["ThrottlingRateLimit"]) == (20, 10)  # api.tf's
    # moto has no UpdateStage: the test empties the route's bucket in the local cloud's state.
    stage = apigatewayv2_backends[ACCOUNT][env.outputs["region"]].get_stage(env.outputs["api_id"], "$default")
    saved = stage.route_settings["POST /predict"]
    stage.route_settings["POST /predict"] = {"throttlingBurstLimit": 0, "throttlingRateLimit": 0.001}
    try:
        started = time.perf_counter()
        status, body = post(env, {"inputs": "Where is my parcel?"}, allowed)
        assert status == 429 and body["message"] == "Too Many Requests"
        assert time.perf_counter() - started < 5  # refused before the Lambda runs
    finally:
        stage.route_settings["POST /predict"] = saved


def test_api_gateway_needs_the_lambda_permission_for_its_route(env: Account, route: str):
    allowed = assume_caller(
        "app-orders", [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": route}]
    )
    functions = boto3.client("lambda")
    name = env.outputs["api_proxy_function_name"]
    statement = json.loads(functions.get_policy(FunctionName=name)["Policy"])["Statement"][0]
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"].endswith("/*/POST/predict")
    functions.remove_permission(FunctionName=name, StatementId="AllowTheFrontDoorRoute")
    try:
        status, body = post(env, {"inputs": "Where is my parcel?"}, allowed)
        assert status == 500 and body["message"] == "Internal Server Error"  # as AWS answers
    finally:
        functions.add_permission(
            FunctionName=name,
            StatementId="AllowTheFrontDoorRoute",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=statement["Condition"]["ArnLike"]["AWS:SourceArn"],
        )
    status, _ = post(env, {"inputs": "Where is my parcel?"}, allowed)
    assert status == 200
