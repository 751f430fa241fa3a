"""The workflows end to end, offline: `make rehearse-release` on the local cloud (Terraform applied
for production and staging, DVC remote, SageMaker Spot job through the local runner, report, gate,
publish; then staging and its checks, production and its bake, and a rollback the bake makes).

It runs the real make target in a subprocess, as a user would, and checks what it printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def rehearse(target: str) -> tuple[str, float]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "TEXTCLF_", "GITHUB_"))
    }
    started = time.perf_counter()
    # One stream, so the deployment JSON (stdout) stays after the line that announces it (stderr).
    result = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1200,
    )
    seconds = time.perf_counter() - started
    output = result.stdout
    assert result.returncode == 0, output[-6000:]
    return output, seconds


def deployment_result(output: str) -> dict:
    """The JSON object printed after `[rehearse] deployment result:`."""
    tail = output.split("[rehearse] deployment result:", 1)[1]
    decoder = json.JSONDecoder()
    return decoder.raw_decode(tail[tail.index("{") :])[0]


def check_pr_part(output: str) -> str:
    for step in (
        "bootstrap",
        "lambda-zip infra-apply",
        "training-image-uri",
        "pull-data",
        "repro-ci",
        "report",
        "gate",
    ):
        assert f"[rehearse] make {step}" in output
    # The PR role may not write the DVC remote: the model goes out through publish (docs/security.md).
    assert "[rehearse] make push-outputs" not in output
    # Training ran as a SageMaker Spot job on the local cloud, not locally.
    assert re.search(r"\[train\] started textclf-\w+-\w+-\w+ on 1 x ml\.\S+ \(managed Spot\)", output)
    assert "completed:" in output and "Spot savings" in output
    # The report was built and printed, and the gate passed.
    assert "reports/report.md (CML posts this on the PR)" in output
    assert "| train.epochs | 2 | 1 |" in output  # the PR's params diff against main
    head = re.search(r"\[textclf\] published the model of ([0-9a-f]{40})", output)
    assert head, "make publish did not publish"
    assert "[rehearse] local cloud stopped" in output
    return head.group(1)


def test_rehearse_release() -> None:
    """The PR, the merge, staging, the approval, production and its bake, then a rollback by hand
    whose model fails under traffic and is rolled back by the bake. (`make rehearse-pr` runs the
    PR part alone; it is not run separately here: the release rehearsal starts with it.)"""
    output, seconds = rehearse("rehearse-release")
    head = check_pr_part(output)
    deployment = deployment_result(output)
    assert deployment["commit"] == head
    assert deployment["model_data_url"].endswith(f"/models/{head}/model.tar.gz")
    assert deployment["redeploy"]["status"] == "deployed"
    # Answered by the inference server running the released model.
    assert deployment["smoke"]["model_version"] == head
    assert deployment["smoke"]["label"] in {
        "account",
        "billing",
        "cancellation",
        "delivery",
        "product",
        "returns",
    }
    assert deployment["champion"].endswith("/production/metrics.json")
    # The model runs the serving image the merge names (a hash of what the image is built from).
    assert re.fullmatch(r"\S+/textclf-\w+-serving:[0-9a-f]{20}", deployment["serving_image"])
    assert re.search(r"endpoint config switched: \S+ -> \S+", output)

    # Staging first: its own endpoint, the same bytes, the published test split replayed there.
    staging = deployment["staging"]
    assert staging["endpoint"] == "textclf-staging" and staging["sha256"] == deployment["sha256"]
    assert "[rehearse] job in environment staging" in output
    assert re.search(r"Test split replayed \| (\d+) of \1 labels equal to evaluate's", staging["checks"])
    assert "Staging checks on `textclf-staging`: passed" in staging["checks"]
    assert (
        output.index("job in environment staging")
        < output.index("reviewers approve")
        < output.index("job in environment production")
    )
    # Production's bake: the window passed under traffic, every request answered.
    bake = deployment["bake"]
    assert bake["outcome"] == "passed" and bake["traffic"]["unavailable"] == 0
    assert bake["traffic"]["answered_by"].get(head, 0) >= 3 and bake["traffic"]["injected_500"] == 0

    # The rollback scenario: the bake saw the alarm and put the previous model (head) back.
    assert re.search(
        r"alarm textclf-prod-endpoint-5xx fired during the bake: production was rolled back to " + head,
        output,
    )
    assert f"rolled back: production serves {head[:12]} and its champion record says so" in output
    assert "rehearsal of the release workflow passed" in output
    print(f"rehearse-release: {seconds:.0f} s")
