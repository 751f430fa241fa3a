"""Lambda refuses deprecated runtimes from their block dates (the Lambda runtimes table): the local
cloud does the same, and the project's functions use a runtime it accepts."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from tests.roles import create_role

from textclf.localcloud.lambdas import RUNTIME_BLOCKS, runtime_problem

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_runtime_is_refused_for_creation_then_for_updates_from_its_block_dates():
    create_blocked, update_blocked = RUNTIME_BLOCKS["python3.11"]
    assert runtime_problem("python3.11", "create", date(2026, 7, 30)) is None
    assert "python3.11 is no longer supported" in runtime_problem("python3.11", "create", create_blocked)
    assert runtime_problem("python3.11", "update", create_blocked) is None  # updates a month longer
    assert runtime_problem("python3.11", "update", update_blocked)
    assert runtime_problem("python3.13", "create", date(2027, 1, 1)) is None


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", "def h(event, context):\n    return event\n")
    return buffer.getvalue()


def test_the_local_cloud_refuses_a_blocked_runtime_on_create_and_update(aws_env):
    client = boto3.client("lambda")
    role = create_role(
        "fn-role", "lambda.amazonaws.com", [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]
    )
    function = {"Role": role, "Handler": "h.h", "Code": {"ZipFile": function_zip()}}
    with pytest.raises(ClientError) as refused:
        client.create_function(FunctionName="old", Runtime="python3.11", **function)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "We recommend you use the new runtime (python3.13)" in str(refused.value)

    client.create_function(FunctionName="fn", Runtime="python3.13", **function)
    with pytest.raises(ClientError, match=r"python3\.11 is no longer supported"):
        client.update_function_configuration(FunctionName="fn", Runtime="python3.11")
    client.update_function_configuration(FunctionName="fn", Timeout=30)  # other changes still go
    assert client.get_function_configuration(FunctionName="fn")["Runtime"] == "python3.13"


def test_the_projects_functions_use_a_runtime_lambda_accepts_today():
    text = (REPO_ROOT / "terraform/lambda.tf").read_text(encoding="utf-8")
    runtimes = re.findall(r'^\s*runtime\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
    assert len(runtimes) == 2  # the redeploy and stop-training functions
    for runtime in runtimes:
        assert runtime_problem(runtime, "create") is None and runtime_problem(runtime, "update") is None
