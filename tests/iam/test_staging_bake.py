"""The bake window on the Terraform-made account: production switched to a new model, one of the
endpoint's alarms fires, and `textclf bake` (as the promote role) puts the previous model back and
fails the release; the previous model answers afterwards."""

from __future__ import annotations

import boto3
import pytest

from tests.iam.conftest import Account
from tests.iam.test_principals import GOOD, RELEASE_JOB, model_folder, targets
from tests.release.evaluation import params_of
from textclf import cli
from textclf.config import AwsParams
from textclf.release import promote, staging

pytestmark = pytest.mark.slow  # shares the Terraform-made account of tests/iam

BAKED = "6666666666666666666666666666666666666666"


def serving_commit(account: Account) -> str:
    sagemaker = boto3.client("sagemaker")
    live = sagemaker.describe_endpoint(EndpointName=account.outputs["endpoint_name"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return model["PrimaryContainer"]["ModelDataUrl"].split("/models/")[1].split("/")[0]


def test_an_alarm_in_the_bake_window_rolls_production_back(
    env: Account, tiny_model_dir, tmp_path, capsys, monkeypatch
):
    aws = AwsParams().resolved()
    folder, metrics = model_folder(tiny_model_dir, tmp_path)
    promote.publish(
        BAKED, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
    )  # by hand
    try:
        previous = serving_commit(env)
    except Exception:  # this file alone: nothing serves yet
        promote.publish(
            GOOD, aws, folder, metrics, metrics.with_name("gate.json"), params=params_of(folder)
        )  # by hand
        with env.acting_as(env.github("promote", RELEASE_JOB)):
            promote.promote(GOOD, aws, targets(env), "macro_f1", wait_timeout_s=120, poll_s=0.2)
        previous = serving_commit(env)
    with env.acting_as(env.github("promote", RELEASE_JOB)):
        promote.promote(BAKED, aws, targets(env), "macro_f1", wait_timeout_s=120, poll_s=0.2)
    assert serving_commit(env) == BAKED

    alarm = f"{env.outputs['endpoint_name']}-endpoint-5xx"
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="5xx in the bake"
    )
    alarms = [alarm, f"{env.outputs['endpoint_name']}-endpoint-latency"]
    # A window as long as the slowest alarm needs to fire (shorter ones are refused); the alarm
    # already fired after the switch, so the bake ends at its first look.
    described = boto3.client("cloudwatch").describe_alarms(AlarmNames=alarms)["MetricAlarms"]
    window = max(staging.seconds_to_fire(a) for a in described)
    arguments = ["bake", "--alarms", ",".join(alarms), "--previous", previous, "--seconds", str(window)]
    arguments += [
        "--function",
        env.outputs["redeploy_function_name"],
        "--endpoint",
        env.outputs["endpoint_name"],
    ]
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    try:
        with env.acting_as(env.github("promote", RELEASE_JOB)):
            exit_code = cli.main(arguments)
    finally:
        boto3.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test over")

    assert exit_code == 2
    assert (
        f"alarm {alarm} fired during the bake: production was rolled back to {previous}"
        in capsys.readouterr().err
    )
    assert serving_commit(env) == previous
    # The job summary says why the release failed.
    assert (
        summary.read_text().startswith("### Bake: FAILED")
        and f"rolled back to {previous}" in summary.read_text()
    )
