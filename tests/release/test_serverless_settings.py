"""One source and one range for the Serverless settings: params.yaml's deploy.serverless and
deploy.keep_configs (validated by textclf.config) reach the redeploy Lambda through Terraform
(terraform/sagemaker.tf reads params.yaml; terraform/tests/serverless_params.tftest.hcl), and the
three places that check them accept the same values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from redeploy_world import lambda_environment

from textclf.config import Params
from textclf.release import redeploy

REPO_ROOT = Path(__file__).resolve().parents[2]
MEMORY_SIZES = [1024, 2048, 3072, 4096, 5120, 6144]


def params_accept(**settings) -> bool:
    deploy = {"serverless": {k: v for k, v in settings.items() if k != "keep_configs"}}
    if "keep_configs" in settings:
        deploy["keep_configs"] = settings["keep_configs"]
    try:
        Params.model_validate({"deploy": deploy})
    except ValidationError:
        return False
    return True


def lambda_accepts(**settings) -> bool:
    names = {
        "memory_mb": "SERVERLESS_MEMORY_MB",
        "max_concurrency": "SERVERLESS_MAX_CONCURRENCY",
        "provisioned_concurrency": "SERVERLESS_PROVISIONED_CONCURRENCY",
        "keep_configs": "KEEP_CONFIGS",
    }
    environment = lambda_environment("arn:aws:iam::123456789012:role/serving")
    environment.update({names[k]: str(v) for k, v in settings.items()})
    try:
        redeploy.Settings.from_env(environment)
    except redeploy.ConfigError:
        return False
    return True


def terraform_ranges() -> dict[str, object]:
    """The bounds terraform/sagemaker.tf checks the settings against (the values from params.yaml)."""
    text = (REPO_ROOT / "terraform/sagemaker.tf").read_text(encoding="utf-8")
    check = text[text.index("serverless_valid = (") :]
    bounds = {
        name: tuple(
            int(n)
            for n in re.search(
                rf"local\.serverless\.{name} >= (\d+) && local\.serverless\.{name} <= (\d+)", check
            ).groups()
        )
        for name in ("max_concurrency", "keep_configs")
    }
    memory = re.search(r"contains\(\[([\d, ]+)\], local\.serverless\.memory_mb\)", check).group(1)
    return {"memory_mb": [int(n) for n in memory.split(",")], **bounds}


CASES = [
    ({"memory_mb": 1024}, True),
    ({"memory_mb": 6144}, True),
    ({"memory_mb": 1536}, False),
    ({"memory_mb": 7168}, False),
    ({"max_concurrency": 200}, True),
    ({"max_concurrency": 201}, False),
    ({"max_concurrency": 0}, False),
    ({"max_concurrency": 4, "provisioned_concurrency": 5}, False),
    ({"keep_configs": 2}, True),
    ({"keep_configs": 50}, True),
    ({"keep_configs": 51}, False),
    ({"keep_configs": 1}, False),
]


@pytest.mark.parametrize(("settings", "valid"), CASES)
def test_params_yaml_and_the_lambda_accept_the_same_settings(settings, valid):
    assert params_accept(**settings) is valid
    assert lambda_accepts(**settings) is valid


def test_terraform_checks_the_same_ranges_as_params_yaml():
    ranges = terraform_ranges()
    assert ranges["memory_mb"] == MEMORY_SIZES
    assert ranges["max_concurrency"] == (1, 200)
    assert ranges["keep_configs"] == (2, 50)
    for settings, valid in CASES:
        (name, value), *_ = settings.items()
        if name in ("max_concurrency", "keep_configs") and len(settings) == 1:
            low, high = ranges[name]
            assert (low <= value <= high) is valid, settings
        if name == "memory_mb":
            assert (value in ranges["memory_mb"]) is valid, settings
