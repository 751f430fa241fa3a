"""Lambda `invoke` that really runs the function's code: a Python zip's handler in a subprocess.

moto runs Lambda code in Docker, and there is no Docker engine here (nor in CI). This extension runs
the handler of a `python3.x` function from its deployment zip in a child Python process instead:

- the zip is extracted to a fresh folder that comes first on `sys.path`, so the function sees its
  own package, not the copy installed in this environment (the child checks it and fails if not);
- the environment is the function's variables plus what Lambda sets (function name, region,
  credentials) and AWS_ENDPOINT_URL pointing back at this local cloud;
- the function's Timeout is enforced; the event is the invoke payload; the context has
  `aws_request_id`, `function_name`, `memory_limit_in_mb`, `invoked_function_arn` and
  `get_remaining_time_in_millis()`;
- the result is the handler's return value as JSON; an exception becomes Lambda's error payload
  (`errorMessage`, `errorType`, `stackTrace`) with the `X-Amz-Function-Error: Unhandled` header;
  the output goes to CloudWatch Logs (`/aws/lambda/<name>`) and, with LogType=Tail, to the
  `X-Amz-Log-Result` header (last 4 KB, as on AWS).

The child uses this interpreter's standard library and site-packages (boto3 included, as in the
Lambda runtime). Container-image functions and other runtimes are reported as errors.

Deprecated runtimes are refused as Lambda refuses them (the deprecated-runtimes table of "Lambda
runtimes", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, and "Runtime
deprecation"): from a runtime's "block function create" date, CreateFunction with it fails; from its
"block function update" date, so do UpdateFunctionConfiguration and UpdateFunctionCode of a function
that keeps it (moving the function to a supported runtime is still allowed). InvalidParameterValue-
Exception, as Lambda answers. The dates are in RUNTIME_BLOCKS; the table moves them at times.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from textclf.localcloud import iam

LOG_TAIL_BYTES = 4096

# Runtime identifier: (block function create, block function update), as the Lambda runtimes table
# gives them. python3.11: deprecated 2026-06-30.
RUNTIME_BLOCKS: dict[str, tuple[date, date]] = {
    "python3.11": (date(2026, 7, 31), date(2026, 8, 31)),
}
RECOMMENDED_RUNTIME = "python3.13"


def runtime_problem(runtime: str | None, operation: str, today: date | None = None) -> str | None:
    """Why Lambda refuses `operation` ("create" or "update") with this runtime today, or None."""
    blocks = RUNTIME_BLOCKS.get(str(runtime))
    if blocks is None:
        return None
    blocked_from = blocks[0] if operation == "create" else blocks[1]
    if (today or datetime.now(UTC).date()) < blocked_from:
        return None
    return (
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
        f"functions. We recommend you use the new runtime ({RECOMMENDED_RUNTIME}) while creating or "
        "updating functions."
    )


# Passed through to the child so it runs like this process (locale, PATH for subprocesses).
PASS_THROUGH = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")

# The child: import the handler from the extracted zip, call it, write the result to a file (stdout
# and stderr are the function's log, as in Lambda).
RUNNER = r"""
import importlib, json, os, sys, time, traceback
task_dir, handler_spec, event_file, result_file, deadline = sys.argv[1:6]
deadline = float(deadline)
sys.path.insert(0, task_dir)

class Context:
    aws_request_id = os.environ["_TEXTCLF_REQUEST_ID"]
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    invoked_function_arn = os.environ.get("_TEXTCLF_FUNCTION_ARN", "")
    log_group_name = "/aws/lambda/" + function_name

    @staticmethod
    def get_remaining_time_in_millis():
        return max(int((deadline - time.time()) * 1000), 0)

def main():
    module_name, _, function_name = handler_spec.rpartition(".")
    module = importlib.import_module(module_name)
    origin = os.path.realpath(getattr(module, "__file__", "") or "")
    if not origin.startswith(os.path.realpath(task_dir) + os.sep):
        raise ImportError(f"{module_name} was imported from {origin}, not from the function's zip")
    with open(event_file, encoding="utf-8") as handle:
        event = json.load(handle)
    return getattr(module, function_name)(event, Context())

try:
    payload = main()
    failed = False
except Exception as error:
    traceback.print_exc()
    payload = {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }
    failed = True
with open(result_file, "w", encoding="utf-8") as handle:
    json.dump({"payload": payload, "failed": failed}, handle, default=str)
"""


@dataclass(frozen=True)
class Invocation:
    payload: str
    failed: bool
    logs: str


def _environment(
    function: Any, endpoint_url: str, request_id: str, timeout: float, credentials: dict[str, str]
) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASS_THROUGH if key in os.environ}
    env.update({key: str(value) for key, value in (function.environment_vars or {}).items()})
    # Set by Lambda itself: a function's own variables cannot override them.
    env.update(
        {
            "_HANDLER": function.handler,
            "_TEXTCLF_REQUEST_ID": request_id,
            "_TEXTCLF_FUNCTION_ARN": function.function_arn,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            **credentials,  # the function's execution role, as Lambda hands it to the runtime
            "AWS_ENDPOINT_URL": endpoint_url,
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def run_function(function: Any, event: Any, endpoint_url: str) -> Invocation:
    """Run the function's handler once on `event`, in a child process."""
    import time

    if function.package_type == "Image" or not str(function.run_time or "").startswith("python"):
        message = f"the local cloud runs only python zip functions, not {function.run_time or 'images'}"
        return _error(message, "Runtime.Unsupported")
    request_id = str(uuid.uuid4())
    timeout = float(function.timeout or 3)
    try:
        credentials = iam.service_session(function.role, "lambda.amazonaws.com", function.function_name)
    except iam.LocalCloudAccessDenied as error:
        return _error(f"The role defined for the function cannot be assumed by Lambda ({error})", "Runtime")
    with tempfile.TemporaryDirectory(prefix="lambda-") as work:
        task_dir = Path(work, "task")
        try:
            zipfile.ZipFile(io.BytesIO(function.code_bytes)).extractall(task_dir)
        except zipfile.BadZipFile as error:
            return Invocation(
                json.dumps({"errorMessage": f"bad zip: {error}", "errorType": "Runtime"}), True, ""
            )
        event_file, result_file = Path(work, "event.json"), Path(work, "result.json")
        event_file.write_text(json.dumps(event), encoding="utf-8")
        command = [sys.executable, "-s", "-c", RUNNER, str(task_dir), function.handler]
        command += [str(event_file), str(result_file), str(time.time() + timeout)]
        env = _environment(function, endpoint_url, request_id, timeout, credentials)
        start = f"START RequestId: {request_id} Version: {function.version}\n"
        try:
            done = subprocess.run(
                command, env=env, cwd=task_dir, capture_output=True, text=True, timeout=timeout, check=False
            )
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as expired:
            output = _text(expired.stdout) + _text(expired.stderr)
            message = f"Task timed out after {timeout:.2f} seconds"
            logs = start + output + message + f"\nEND RequestId: {request_id}\n"
            return Invocation(
                json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}), True, logs
            )
        logs = start + output + f"END RequestId: {request_id}\n"
        if not result_file.exists():
            message = f"Runtime exited with error: exit status {done.returncode}"
            return Invocation(
                json.dumps({"errorMessage": message, "errorType": "Runtime.ExitError"}), True, logs
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))
        return Invocation(json.dumps(result["payload"]), bool(result["failed"]), logs)


# Lambda retries a failed asynchronous invocation twice by default, waiting about 1 and 2 minutes
# (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html); the local
# cloud keeps the count and shortens the waits.
ASYNC_RETRY_DELAYS_S = [float(os.environ.get("TEXTCLF_LOCALCLOUD_LAMBDA_RETRY_SECONDS", "0.2"))] * 2
async_attempts: list[dict[str, Any]] = []  # every asynchronous attempt, for tests and the rehearsals


def invoke_async(function: Any, event: Any, endpoint_url: str) -> None:
    """An asynchronous invocation: the event is retried while the handler raises (a returned
    value, even `{"ok": false}`, is a success), then sent to the dead-letter target."""
    import time

    retries = _maximum_retries(function)
    outcome = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(ASYNC_RETRY_DELAYS_S[min(attempt - 1, len(ASYNC_RETRY_DELAYS_S) - 1)])
        outcome = run_function(function, event, endpoint_url)
        function.logs_backend.ensure_log_group(function.logs_group_name)
        function.save_logs(outcome.logs or "(no output)")
        async_attempts.append(
            {"function": function.function_name, "attempt": attempt, "failed": outcome.failed}
        )
        if not outcome.failed:
            return
    _dead_letter(function, event, outcome)


def _maximum_retries(function: Any) -> int:
    for entry in getattr(function, "event_invoke_config", None) or []:
        if "MaximumRetryAttempts" in entry.config:
            return int(entry.config["MaximumRetryAttempts"])
    return 2


def _dead_letter(function: Any, event: Any, outcome: Invocation | None) -> None:
    """The event to the function's DeadLetterConfig target (SNS or SQS), sent as the function's
    execution role, with the attributes Lambda adds (RequestID, ErrorCode, ErrorMessage)."""
    target = (getattr(function, "dead_letter_config", None) or {}).get("TargetArn")
    if not target or outcome is None:
        return
    payload = json.loads(outcome.payload) if outcome.payload else {}
    attributes = {
        "ErrorCode": "200",
        "ErrorMessage": str(payload.get("errorMessage", ""))[:1000],
        "RequestID": str(uuid.uuid4()),
    }
    region, account = target.split(":")[3], target.split(":")[4]
    try:
        credentials = iam.service_session(function.role, "lambda.amazonaws.com", function.function_name)
        principal = iam.session_principal(credentials)
        if target.startswith("arn:aws:sns:"):
            from moto.sns.models import sns_backends

            iam.check(principal, "sns:Publish", target, region)
            sns_backends[account][region].publish(
                json.dumps(event),
                arn=target,
                message_attributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                },
            )
        elif target.startswith("arn:aws:sqs:"):
            from moto.sqs.models import sqs_backends

            iam.check(principal, "sqs:SendMessage", target, region)
            sqs_backends[account][region].send_message(
                target.rsplit(":", 1)[1],
                json.dumps(event),
                message_attributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                },
            )
    except iam.LocalCloudAccessDenied as error:
        # Lambda cannot deliver: the event is lost, and the function's DeadLetterErrors metric says so.
        print(
            f"[local cloud] dead-letter delivery failed for {function.function_name}: {error}",
            file=sys.stderr,
        )


def _error(message: str, kind: str, logs: str = "") -> Invocation:
    return Invocation(json.dumps({"errorMessage": message, "errorType": kind}), True, logs)


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _refuse_blocked_runtimes() -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    original_create = LambdaBackend.create_function
    original_configure = LambdaFunction.update_configuration
    original_code = LambdaFunction.update_function_code

    def refuse(problem: str | None) -> None:
        if problem:
            raise InvalidParameterValueException(problem)

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        if spec.get("PackageType") != "Image":
            refuse(runtime_problem(spec.get("Runtime"), "create"))
        return original_create(self, spec)

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
        refuse(runtime_problem(config_updates.get("Runtime", self.run_time), "update"))
        return original_configure(self, config_updates)

    def update_function_code(self: Any, updated_spec: dict[str, Any]) -> Any:
        refuse(runtime_problem(self.run_time, "update"))
        return original_code(self, updated_spec)

    LambdaBackend.create_function = create_function
    LambdaFunction.update_configuration = update_configuration
    LambdaFunction.update_function_code = update_function_code


def invoke_event(body: str | bytes | None) -> Any:
    """The event an Invoke's payload is: any JSON value (no payload: `{}`). A payload that is not
    JSON is refused before the function runs: InvalidRequestContentException, HTTP 400, "Could not
    parse request body into json" (Lambda API reference, Invoke, Errors,
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). The local cloud answered an HTML
    500 with a JSONDecodeError stack (issue 27, R14B-13)."""
    from moto.awslambda.exceptions import LambdaClientError

    if not body:
        return {}
    try:
        # Bytes are decoded strictly: json.loads(bytes) would take UTF-8-encoded surrogates
        # (surrogatepass), which are not UTF-8 (R14B-33's re-check).
        return json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (ValueError, RecursionError) as error:
        problem = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        refused = LambdaClientError(
            "InvalidRequestContentException", f"Could not parse request body into json: {problem}"
        )
        refused.code = 400
        raise refused from None


def install() -> None:
    """Replace moto's Docker-based invoke with `run_function`, and refuse deprecated runtimes;
    called once before the server starts."""
    from moto.awslambda.models import LambdaFunction

    _refuse_blocked_runtimes()

    def invoke(self: Any, body: str, request_headers: Any, response_headers: dict[str, str]) -> bytes:
        event = invoke_event(body)
        host = request_headers.get("Host") or request_headers.get("host") or "127.0.0.1:5000"
        if request_headers.get("X-Amz-Invocation-Type") == "Event":
            threading.Thread(target=invoke_async, args=(self, event, f"http://{host}"), daemon=True).start()
            return b""  # 202: queued, as Lambda answers an asynchronous invocation
        outcome = run_function(self, event, f"http://{host}")
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(outcome.logs or "(no output)")
        if outcome.failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        tail = outcome.logs.encode("utf-8")[-LOG_TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
        return outcome.payload.encode("utf-8")

    LambdaFunction.invoke = invoke
    _checked_payloads()
    _partial_arns()
    _checked_role_updates()


def _checked_payloads() -> None:
    """The payload is checked first, before moto reads its parameters: moto's `_get_param` parses a
    body that starts like JSON, and one nested too deeply was a RecursionError stack."""
    from moto.awslambda.responses import LambdaResponse

    original = LambdaResponse.invoke

    def invoke(self: Any) -> Any:
        invoke_event(self.body)
        return original(self)

    invoke.__wrapped__ = original  # type: ignore[attr-defined]
    LambdaResponse.invoke = invoke


def _checked_role_updates() -> None:
    """UpdateFunctionConfiguration's Role is checked as CreateFunction's is (moto checks only the
    latter): a role of another account is "Cross-account pass role is not allowed.", one that does
    not exist "The role defined for the function cannot be assumed by Lambda." (moto's own wording
    for CreateFunction). moto took any role there, so a function could be pointed at a role that
    fails on AWS."""
    from moto.awslambda.exceptions import (
        CrossAccountNotAllowed,
        InvalidParameterValueException,
        InvalidRoleFormat,
    )
    from moto.awslambda.models import LambdaFunction
    from moto.iam.exceptions import NotFoundException as IAMNotFoundException
    from moto.iam.models import iam_backends

    original = LambdaFunction.update_configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
        role = config_updates.get("Role")
        if role is not None:
            valid = re.match(InvalidRoleFormat.pattern, str(role))
            if valid is None:
                raise InvalidRoleFormat(str(role))
            if valid.group(2) != self.account_id:
                raise CrossAccountNotAllowed()
            try:
                iam_backends[self.account_id][iam.PARTITION].get_role_by_arn(role)
            except IAMNotFoundException:
                raise InvalidParameterValueException(
                    "The role defined for the function cannot be assumed by Lambda."
                ) from None
        return original(self, config_updates)

    LambdaFunction.update_configuration = update_configuration


# FunctionName takes "Function name ..., Function ARN ..., Partial ARN - 123456789012:function:my-function"
# (Lambda API reference, Invoke and GetFunctionConfiguration, FunctionName,
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html); moto unpacked a partial ARN as
# name:qualifier and answered 500 with its stack. Completed here into the full ARN of the backend's
# Region (iam.py authorizes it as that ARN, another account's refused as a full ARN's is).
PARTIAL_ARN = re.compile(r"([0-9]{12}):function:([A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]{1,128})?)")


def full_function_arn(name: str, region: str) -> str:
    """`name` as a full ARN if it is a partial ARN (account:function:name[:qualifier]), else as given."""
    partial = PARTIAL_ARN.fullmatch(name)
    if partial is None:
        return name
    return f"arn:{iam.PARTITION}:lambda:{region}:{partial.group(1)}:function:{partial.group(2)}"


def _partial_arns() -> None:
    from moto.awslambda.models import LambdaStorage

    for method in (
        "get_function_by_name_or_arn_forbid_qualifier",
        "get_function_by_name_or_arn_with_qualifier",
    ):
        original = getattr(LambdaStorage, method)

        def completed(
            self: Any, name_or_arn: str, *args: Any, _original: Any = original, **kwargs: Any
        ) -> Any:
            return _original(self, full_function_arn(name_or_arn, self.region_name), *args, **kwargs)

        setattr(LambdaStorage, method, completed)
