"""batch-predict refuses, before CreateTransformJob, an INPUT or OUTPUT outside the data bucket's batch
prefixes (issue 27, R13B-12): the job runs as the model's role, which may read batch.input_prefix and
write batch.output_prefix of aws.data_bucket only (terraform/batch.tf), so on AWS a job given other
URIs is billed for its instances and then fails on AccessDenied. The prefixes are params.yaml's, held
to the Terraform variables' pattern and defaults."""

from __future__ import annotations

import re

import pytest
import yaml
from tests.conftest import REPO_ROOT

from textclf import config
from textclf.batch import job
from textclf.config import AwsParams, BatchParams, Params, ParamsError, ServeParams, parse_params

DATA = AwsParams().data_bucket  # textclf-data


def refusal(input_uri: str, output_uri: str, settings: BatchParams | None = None) -> str:
    with pytest.raises(job.BatchError) as refused:
        job.run(settings or BatchParams(), ServeParams(), AwsParams(), input_uri, output_uri, "prod", print)
    return str(refused.value)


@pytest.mark.parametrize(
    "input_uri",
    [
        f"s3://{DATA}/incoming/",  # the data bucket, another prefix
        f"s3://{DATA}/batch/",  # above the input prefix: it lists batch/out/ too
        f"s3://{DATA}/batch/inbox/",
        "s3://textclf-batch/batch/in/",  # another bucket, the right prefix
    ],
)
def test_an_input_outside_the_batch_input_prefix_is_refused_before_any_aws_call(unreachable_aws, input_uri):
    message = refusal(input_uri, f"s3://{DATA}/batch/out/")

    assert message.startswith(f"INPUT {input_uri} ")
    assert f"s3://{DATA}/batch/in/ only" in message
    assert "batch.input_prefix in params.yaml" in message and "batch_input_prefix" in message
    assert "nothing was started" in message


@pytest.mark.parametrize(
    "output_uri",
    [
        f"s3://{DATA}/results/",
        f"s3://{DATA}/batch/outputs/",
        f"s3://{DATA}/dvc/",
        "s3://textclf-batch/batch/out/",
    ],
)
def test_an_output_outside_the_batch_output_prefix_is_refused_before_any_aws_call(
    unreachable_aws, output_uri
):
    message = refusal(f"s3://{DATA}/batch/in/", output_uri)

    assert message.startswith(f"OUTPUT {output_uri} ")
    assert f"s3://{DATA}/batch/out/ only" in message
    assert "batch.output_prefix in params.yaml" in message and "batch_output_prefix" in message
    assert "nothing was started" in message


def test_another_bucket_is_named_with_the_data_bucket_setting(unreachable_aws):
    message = refusal("s3://other/batch/in/", f"s3://{DATA}/batch/out/")

    assert (
        f"is not in the data bucket {DATA} (aws.data_bucket in params.yaml, or TEXTCLF_DATA_BUCKET)"
        in message
    )


def test_the_input_prefix_without_its_slash_is_told_to_end_with_one(unreachable_aws):
    message = refusal(f"s3://{DATA}/batch/in", f"s3://{DATA}/batch/out/")

    assert f"end INPUT with / (s3://{DATA}/batch/in/)" in message


@pytest.mark.parametrize(
    ("input_uri", "output_uri"),
    [
        (f"s3://{DATA}/batch/in/", f"s3://{DATA}/batch/out/"),
        (f"s3://{DATA}/batch/in/2026-12-01/", f"s3://{DATA}/batch/out/2026-12-01"),
        (f"s3://{DATA}/batch/in/tickets.jsonl", f"s3://{DATA}/batch/out"),  # writes batch/out/<name>.out
    ],
)
def test_uris_under_the_batch_prefixes_go_on_to_aws(unreachable_aws, input_uri, output_uri):
    assert "reading the model endpoint prod serves" in refusal(input_uri, output_uri)


def test_the_prefixes_of_params_yaml_are_the_ones_checked(unreachable_aws):
    settings = BatchParams(input_prefix="scoring/in/", output_prefix="scoring/out/")

    assert "reading the model endpoint" in refusal(
        f"s3://{DATA}/scoring/in/a/", f"s3://{DATA}/scoring/out/a/", settings
    )
    message = refusal(f"s3://{DATA}/batch/in/", f"s3://{DATA}/scoring/out/", settings)
    assert f"s3://{DATA}/scoring/in/ only" in message


def test_the_data_bucket_of_the_environment_is_the_one_checked(unreachable_aws, monkeypatch):
    monkeypatch.setenv("TEXTCLF_DATA_BUCKET", "acme-prod-data")
    aws = AwsParams().resolved()
    with pytest.raises(job.BatchError, match="reading the model endpoint"):
        job.run(BatchParams(), ServeParams(), aws, "s3://acme-prod-data/batch/in/", "s3://acme-prod-data/batch/out/",
                "prod", print)  # fmt: skip
    with pytest.raises(job.BatchError, match="is not in the data bucket acme-prod-data"):
        job.run(BatchParams(), ServeParams(), aws, f"s3://{DATA}/batch/in/", "s3://acme-prod-data/batch/out/",
                "prod", print)  # fmt: skip


@pytest.mark.parametrize(
    ("batch", "said"),
    [
        ({"input_prefix": "batch/in"}, "ending in /"),
        ({"input_prefix": "Batch/in/"}, "lower-case"),
        ({"output_prefix": "/batch/out/"}, "starting with a letter or digit"),
        ({"output_prefix": "batch out/"}, "lower-case letters, digits"),
        ({"output_prefix": "batch/in/results/"}, "overlap"),  # results would be the next run's input
        ({"input_prefix": "batch/out/today/"}, "overlap"),  # the job could write its own input
        ({"input_prefix": "batch/", "output_prefix": "batch/out/"}, "overlap"),
        ({"input_prefix": "dvc/batch/"}, "must not be under dvc/"),
        ({"output_prefix": "incoming/"}, "must not be under incoming/"),
    ],
)
def test_params_yaml_refuses_prefixes_terraform_or_the_role_would_not_take(batch, said):
    with pytest.raises(ParamsError) as refused:
        parse_params({"batch": batch})

    message = str(refused.value)
    assert "batch" in message and said in message


def terraform_default(variable: str) -> str:
    text = (REPO_ROOT / "terraform" / "batch.tf").read_text(encoding="utf-8")
    block = re.search(rf'variable "{variable}" \{{(.*?)\n\}}', text, re.S)
    assert block, f"terraform/batch.tf declares {variable}"
    default = re.search(r'^\s*default\s*=\s*"([^"]*)"', block.group(1), re.M)
    assert default, f"{variable} has a string default"
    return default.group(1)


def terraform_pattern(variable: str) -> str:
    text = (REPO_ROOT / "terraform" / "batch.tf").read_text(encoding="utf-8")
    block = re.search(rf'variable "{variable}" \{{(.*?)\n\}}', text, re.S)
    return re.search(r'regex\("([^"]*)", var\.' + variable, block.group(1)).group(1).replace("\\\\", "\\")


@pytest.mark.parametrize(
    ("setting", "variable"),
    [
        ("input_prefix", "batch_input_prefix"),
        ("output_prefix", "batch_output_prefix"),
        ("job_name_prefix", "batch_job_name_prefix"),
    ],
)
def test_params_yaml_and_terraform_hold_the_same_batch_settings(setting, variable):
    """Nothing copies params.yaml's batch section into Terraform: the job's role (terraform/batch.tf)
    and the client's check read their own copy, which must agree, defaults and environments alike."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))["batch"]
    default = terraform_default(variable)

    assert params[setting] == default == BatchParams.model_fields[setting].default
    for tfvars in sorted((REPO_ROOT / "terraform" / "environments").glob("*.tfvars")):
        overridden = re.search(rf'^\s*{variable}\s*=\s*"([^"]*)"', tfvars.read_text(encoding="utf-8"), re.M)
        assert overridden is None or overridden.group(1) == params[setting], tfvars.name


@pytest.mark.parametrize("variable", ["batch_input_prefix", "batch_output_prefix"])
def test_params_yaml_takes_the_prefixes_terraform_takes(variable):
    assert terraform_pattern(variable) == "^" + config.BATCH_PREFIX.pattern + "$"


def test_the_defaults_validate():
    settings = Params.model_validate({}).batch
    assert (settings.input_prefix, settings.output_prefix) == ("batch/in/", "batch/out/")
