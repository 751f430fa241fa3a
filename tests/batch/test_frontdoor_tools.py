"""The container service's roll (textclf.frontdoor.ecs_roll) and the cost comparison
(bench/cost_compare.py, `make bench-cost`) on params.yaml's price table."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from textclf.config import CostsParams, ParamsError, load_params
from textclf.frontdoor import ecs_roll

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import cost_compare  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_the_roll_takes_the_model_url_and_the_published_sha256(aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="artifacts")
    digest = hashlib.sha256(b"model").hexdigest()
    manifest = {"commit": COMMIT, "sha256": digest, "size": 5}
    s3.put_object(
        Bucket="artifacts", Key=f"models/{COMMIT}/manifest.json", Body=json.dumps(manifest).encode()
    )

    assert ecs_roll.model_vars("artifacts", "models/", COMMIT) == [
        "-var",
        f"ecs_model_data_url=s3://artifacts/models/{COMMIT}/model.tar.gz",
        "-var",
        f"ecs_model_sha256={digest}",
    ]
    with pytest.raises(SystemExit, match="no released model for 1111111"):
        ecs_roll.model_vars("artifacts", "models/", "1" * 40)
    for wrong in ("main; rm -rf /", COMMIT[:12]):  # a short sha could name another commit one day
        with pytest.raises(SystemExit, match="give the released commit's full sha"):
            ecs_roll.model_vars("artifacts", "models/", wrong)


def test_the_roll_registers_the_released_model_and_image_and_moves_the_service(aws_env):
    """On the local cloud's ECS API: the service's task definition copied with the commit's model
    URL, its published sha256 and the release's image, the rest kept, the service moved to it."""
    s3, ecs = boto3.client("s3"), boto3.client("ecs")
    s3.create_bucket(Bucket="artifacts")
    digest = hashlib.sha256(b"model").hexdigest()
    manifest = json.dumps({"commit": COMMIT, "sha256": digest}).encode()
    s3.put_object(Bucket="artifacts", Key=f"models/{COMMIT}/manifest.json", Body=manifest)
    ecs.create_cluster(clusterName="textclf-prod-serving")
    first = ecs.register_task_definition(
        family="textclf-prod-serving",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="2048",
        containerDefinitions=[
            {
                "name": "serve",
                "image": "repo/serving:old",
                "environment": [
                    {"name": "TEXTCLF_MODEL_URL", "value": "s3://artifacts/models/old/model.tar.gz"},
                    {"name": "TEXTCLF_MODEL_DIR", "value": "/tmp/model"},
                ],
                "user": "10001:10001",
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="textclf-prod-serving",
        serviceName="textclf-prod-serving",
        taskDefinition=first,
        desiredCount=1,
    )
    model = ecs_roll.model_environment("artifacts", "models/", COMMIT)

    revision = ecs_roll.roll("textclf-prod-serving", "textclf-prod-serving", model, "repo/serving:new")

    service = ecs.describe_services(cluster="textclf-prod-serving", services=["textclf-prod-serving"])
    assert service["services"][0]["taskDefinition"] == revision != first
    container = ecs.describe_task_definition(taskDefinition=revision)["taskDefinition"][
        "containerDefinitions"
    ][0]
    assert container["image"] == "repo/serving:new" and container["user"] == "10001:10001"
    assert {item["name"]: item["value"] for item in container["environment"]} == {
        "TEXTCLF_MODEL_URL": f"s3://artifacts/models/{COMMIT}/model.tar.gz",
        "TEXTCLF_MODEL_SHA256": digest,
        "TEXTCLF_MODEL_DIR": "/tmp/model",
    }


class _Ecs:
    """DescribeServices answers of a deployment in progress, then `final` (moto's ECS has no rollout)."""

    def __init__(self, final: str) -> None:
        self.states = ["IN_PROGRESS", final]

    def describe_services(self, cluster: str, services: list[str]) -> dict:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        deployment = {"status": "PRIMARY", "taskDefinition": "serving:7", "rolloutState": state}
        return {"services": [{"deployments": [deployment]}]}


@pytest.mark.parametrize("final", ["COMPLETED", "FAILED"])
def test_the_roll_waits_for_ecs_to_finish_or_roll_back(final):
    assert ecs_roll.wait("c", "s", timeout_s=5, poll_s=0.01, ecs=_Ecs(final)) == final


def test_the_cost_table_from_the_price_table():
    costs = load_params(REPO / "params.yaml").costs

    one_a_minute = cost_compare.monthly(costs, 1)
    assert one_a_minute["requests_per_month"] == 43_800
    expected = 43_800 * 0.050 * costs.serverless_usd_per_second[2048]
    expected += 43_800 * costs.request_kb / 1024 / 1024 * costs.serverless_usd_per_gb_processed
    assert one_a_minute["serverless"] == pytest.approx(expected)
    assert one_a_minute["realtime"] == pytest.approx(costs.realtime_usd_per_hour * 730)
    busy = cost_compare.monthly(costs, 60 * 200)  # 200 req/s: more tasks than the minimum
    assert busy["ecs_tasks"] == 4 and busy["ecs"] < busy["serverless"]
    even = cost_compare.break_even_per_minute(costs)
    assert (
        cost_compare.monthly(costs, even * 0.9)["serverless"] < cost_compare.monthly(costs, even * 0.9)["ecs"]
    )
    assert (
        cost_compare.monthly(costs, even * 1.1)["serverless"] > cost_compare.monthly(costs, even * 1.1)["ecs"]
    )


def test_make_bench_cost_prints_the_table(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "cost_compare.py"), "--out", str(tmp_path / "cost.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "| 10 req/s | 26,280,000 |" in done.stdout
    assert json.loads((tmp_path / "cost.json").read_text())["rows"][0]["per_minute"] == 1


def test_a_memory_size_without_a_price_is_refused(tmp_path):
    with pytest.raises(ValueError, match="serverless_memory_mb 3000 has no price"):
        CostsParams(serverless_usd_per_second={2048: 0.00004}, serverless_memory_mb=3000)
    params = tmp_path / "params.yaml"
    params.write_text("costs:\n  alb_usd_per_hourr: 1\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"costs\.alb_usd_per_hourr"):
        load_params(params)
