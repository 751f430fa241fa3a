"""One bucket-name rule for the whole project (issue 27, round 7, T-b): the drift and redeploy
Lambdas and the ECS model fetch refuse what S3 refuses or reserves (textclf.s3uri), not only bad
characters; and every Lambda zip carries each module of ours that its modules import."""

from __future__ import annotations

import ast
import importlib
import io
import zipfile

import pytest
from redeploy_world import lambda_environment

from textclf.lambda_zip import build
from textclf.release import redeploy
from textclf.serving import fetch

# Valid characters, refused by S3 all the same ("General purpose bucket naming rules").
RESERVED = ["xn--artifacts", "artifacts-s3alias", "192.168.5.4", "sthree-artifacts", "artifacts--x-s3"]
LAMBDAS = (
    "textclf.monitoring.drift",
    "textclf.release.redeploy",
    "textclf.training.stop_job",
    "textclf.frontdoor.proxy",
)


@pytest.mark.parametrize("bucket", RESERVED)
def test_the_redeploy_lambda_refuses_a_reserved_artifact_bucket(bucket):
    env = {
        **lambda_environment("arn:aws:iam::123456789012:role/textclf-sagemaker"),
        "ARTIFACT_BUCKET": bucket,
    }

    with pytest.raises(redeploy.ConfigError, match=rf"ARTIFACT_BUCKET='{bucket}' is not an S3 bucket name; "):
        redeploy.Settings.from_env(env)


@pytest.mark.parametrize("bucket", RESERVED)
def test_the_redeploy_lambda_refuses_a_reserved_capture_bucket(bucket):
    env = {
        **lambda_environment("arn:aws:iam::123456789012:role/textclf-sagemaker"),
        "CAPTURE_URI": f"s3://{bucket}/capture/",
    }

    with pytest.raises(redeploy.ConfigError, match=r"CAPTURE_URI='s3://.*' must be an s3:// URI"):
        redeploy.Settings.from_env(env)


@pytest.mark.parametrize("bucket", RESERVED)
def test_the_model_fetch_refuses_a_reserved_bucket(bucket):
    with pytest.raises(fetch.FetchError, match=rf"TEXTCLF_MODEL_URL='s3://{bucket}/m.tar.gz' is not"):
        fetch.object_url(f"s3://{bucket}/m.tar.gz", {}, "us-east-1")


@pytest.mark.parametrize("module", LAMBDAS)
def test_each_lambda_zip_carries_what_its_modules_import(tmp_path, module):
    files = importlib.import_module(module).ZIP_FILES
    target = tmp_path / "function.zip"
    build(files, str(target))
    archive = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    names = set(archive.namelist())
    for name in names:
        for node in ast.walk(ast.parse(archive.read(name))):
            imported = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            for dotted in imported:
                if dotted.split(".")[0] == "textclf":
                    assert dotted.replace(".", "/") + ".py" in names, f"{module}: {name} imports {dotted}"
