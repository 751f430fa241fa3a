"""Lambda refuses the functions and invocations Lambda refuses (moto took them: issue 27, R14B-14).

CreateFunction and UpdateFunctionConfiguration / UpdateFunctionCode (Lambda API reference,
CreateFunction, https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html; Lambda
quotas, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
- FunctionName: the API's pattern, a plain name at most 64 characters ([a-zA-Z0-9-_]+); Handler
  "Maximum length of 128. Pattern: [^\\s]+";
  Runtime: one of the API's Runtime values (botocore's model of it): ValidationException;
- Timeout 1 to 900 seconds ("Function timeout: 900 seconds (15 minutes)"), MemorySize 128 to
  10,240 MB ("Function memory allocation: 128 MB to 10,240 MB"): InvalidParameterValueException
  (the model's wider ranges are for Lambda Managed Instances, which the local cloud does not run);
- Environment: keys match [a-zA-Z]([a-zA-Z0-9_])+ (EnvironmentVariableName: ValidationException);
  reserved keys ("Defined runtime environment variables", Reserved environment variables,
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-runtime.html) and more than
  4 KB in all ("Function environment variables: 4 KB, for all environment variables associated
  with the function, in aggregate"): InvalidParameterValueException;
- Code.ZipFile must be a zip Lambda can unzip: InvalidParameterValueException.

Invoke (Lambda API reference, Invoke, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html:
"For synchronous invocations, the maximum payload size is 6 MB. For asynchronous invocations, the
maximum payload size is 1 MB"): a larger payload is RequestTooLargeException, HTTP 413;
InvocationType is Event, RequestResponse or DryRun (ValidationException); a Qualifier names an
existing version or alias (ResourceNotFoundException, 404). moto read the qualifier from a
`qualifier` parameter botocore never sends, so `Qualifier=99` ran $LATEST.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import sys
import urllib.parse
import zipfile
from typing import Any

MAX_TIMEOUT_SECONDS = 900
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
MAX_ENVIRONMENT_BYTES = 4096
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")
ENV_KEY = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")
PLAIN_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
RESERVED_KEYS = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip


def _shape(name: str) -> dict[str, Any]:
    import botocore.session

    return botocore.session.get_session().get_service_model("lambda").shape_for(name).metadata


def _error(code: str, message: str, status: int = 400) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    print(f"[local cloud] REFUSED (Lambda {code}): {message}", file=sys.stderr)
    error = LambdaClientError(code, message)
    error.code = status
    return error


def function_name_problem(name: Any) -> str | None:
    text = str(name or "")
    pattern = _shape("FunctionName")["pattern"]
    plain = ":" not in text
    if (plain and not PLAIN_NAME.fullmatch(text)) or not re.fullmatch(pattern, text) or len(text) > 140:
        return (
            f"1 validation error detected: Value '{text[:100]}' at 'functionName' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {pattern} (a name: at most 64 "
            "characters of letters, digits, '-' and '_')"
        )
    return None


def configuration_problems(config: dict[str, Any]) -> tuple[str, str] | None:
    """(error code, message) for the first setting Lambda refuses in a CreateFunction or
    UpdateFunctionConfiguration request, or None."""
    runtime = config.get("Runtime")
    if runtime is not None and runtime not in _shape("Runtime")["enum"]:
        return (
            "ValidationException",
            f"1 validation error detected: Value '{runtime}' at 'runtime' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(_shape('Runtime')['enum'])}]",
        )
    handler = config.get("Handler")
    if handler is not None and not re.fullmatch(r"[^\s]{1,128}", str(handler)):
        return (
            "ValidationException",
            f"1 validation error detected: Value '{str(handler)[:100]}' at 'handler' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [^\\s]+ (at most 128 characters)",
        )
    timeout = config.get("Timeout")
    if timeout is not None and not (isinstance(timeout, int) and 1 <= timeout <= MAX_TIMEOUT_SECONDS):
        return (
            "InvalidParameterValueException",
            f"Timeout {timeout} is out of range: a function's timeout is 1 to {MAX_TIMEOUT_SECONDS} seconds",
        )
    memory = config.get("MemorySize")
    if memory is not None and not (isinstance(memory, int) and MIN_MEMORY_MB <= memory <= MAX_MEMORY_MB):
        return (
            "InvalidParameterValueException",
            f"MemorySize {memory} is out of range: a function's memory is {MIN_MEMORY_MB} to "
            f"{MAX_MEMORY_MB} MB",
        )
    variables = (config.get("Environment") or {}).get("Variables")
    if isinstance(variables, dict):
        bad = [k for k in variables if not ENV_KEY.fullmatch(str(k)) and k not in RESERVED_KEYS]
        if bad:
            return (
                "ValidationException",
                "1 validation error detected: Value at 'environment.variables' failed to satisfy "
                "constraint: Map keys must satisfy constraint: [Member must satisfy regular expression "
                f"pattern: [a-zA-Z]([a-zA-Z0-9_])+] (key {str(bad[0])[:100]!r})",
            )
        reserved = sorted(k for k in variables if k in RESERVED_KEYS)
        if reserved:
            return (
                "InvalidParameterValueException",
                "Lambda was unable to configure your environment variables because the environment "
                "variables you have provided contains reserved keys that are currently not supported for "
                f"modification. Reserved keys used in this request: {','.join(reserved)}",
            )
        size = len(json.dumps(variables, separators=(",", ":")).encode("utf-8"))
        if size > MAX_ENVIRONMENT_BYTES:
            return (
                "InvalidParameterValueException",
                "Lambda was unable to configure your environment variables because the environment "
                f"variables you have provided exceeded the 4KB limit ({size} bytes)",
            )
    return None


def zip_problem(zip_file: Any) -> str | None:
    if zip_file is None:
        return None
    try:
        data = base64.b64decode(zip_file, validate=True) if isinstance(zip_file, str) else bytes(zip_file)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.namelist()
    except (binascii.Error, ValueError, zipfile.BadZipFile, TypeError):
        return "Could not unzip uploaded file. Please check your file, then try to upload again."
    return None


def _refuse(problem: tuple[str, str] | None) -> None:
    if problem:
        raise _error(*problem)


def _invoke_problem(response: Any) -> None:
    """Invoke's InvocationType, payload size and Qualifier (after moto's authorization)."""
    kind = response.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if kind not in INVOCATION_TYPES:
        raise _error(
            "ValidationException",
            f"1 validation error detected: Value '{kind[:50]}' at 'invocationType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(INVOCATION_TYPES)}]",
        )
    size = len(response.raw_body or b"")
    limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
    if size > limit:
        raise _error(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation "
            f"({'asynchronous' if kind == 'Event' else 'synchronous'} invocation of {size} bytes)",
            413,
        )
    query = urllib.parse.parse_qs(urllib.parse.urlparse(response.uri).query)
    qualifier = (query.get("Qualifier") or [None])[0]
    if qualifier is not None:
        if not re.fullmatch(r"[a-zA-Z0-9$_-]{1,128}", qualifier):
            raise _error(
                "ValidationException",
                f"1 validation error detected: Value '{qualifier[:100]}' at 'qualifier' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
            )
        name = urllib.parse.unquote(response.path.rsplit("/", 2)[-2])
        response.backend.get_function(name, qualifier)  # ResourceNotFoundException (404) if none
        response.querystring["qualifier"] = [qualifier]  # the parameter moto's invoke reads


def _checked_add_permission(original: Any) -> Any:
    """AddPermission (Lambda API reference, AddPermission, Errors,
    https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html): a StatementId the
    function's policy already holds is ResourceConflictException (409, "The statement id (s3)
    provided already exists. Please provide a new statement id, or remove the existing
    statement."); a principal naming a role or user of this account that does not exist is
    InvalidParameterValueException, as for every resource policy (s3policies, R14B-42). moto
    appended a second statement of one id (issue 27, R14B-44)."""

    def add_permission(self: Any, function_name: str, qualifier: str, raw: str) -> Any:
        from textclf.localcloud.s3policies import _identity_exists

        try:
            request = json.loads(raw)
        except (ValueError, RecursionError):
            request = {}
        if isinstance(request, dict):
            sid = request.get("StatementId")
            function = self.get_function(function_name, qualifier)
            if sid and any(st.get("Sid") == sid for st in function.policy.statements):
                raise _error(
                    "ResourceConflictException",
                    f"The statement id ({sid}) provided already exists. Please provide a new statement id, "
                    "or remove the existing statement.",
                    409,
                )
            principal = str(request.get("Principal") or "")
            if principal and not _identity_exists(principal):
                raise _error(
                    "InvalidParameterValueException",
                    f"The provided principal was invalid: {principal[:200]} (no such IAM role or user)",
                )
        return original(self, function_name, qualifier, raw)

    add_permission.__wrapped__ = original  # type: ignore[attr-defined]
    return add_permission


def install() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    create = LambdaBackend.create_function

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        problem = function_name_problem(spec.get("FunctionName"))
        if problem:
            raise _error("ValidationException", problem)
        _refuse(configuration_problems(spec))
        if spec.get("PackageType") != "Image":
            unzip = zip_problem((spec.get("Code") or {}).get("ZipFile"))
            if unzip:
                raise _error("InvalidParameterValueException", unzip)
        return create(self, spec)

    configure = LambdaFunction.update_configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
        _refuse(configuration_problems(config_updates))
        return configure(self, config_updates)

    update_code = LambdaFunction.update_function_code

    def update_function_code(self: Any, updated_spec: dict[str, Any]) -> Any:
        unzip = zip_problem(updated_spec.get("ZipFile"))
        if unzip:
            raise _error("InvalidParameterValueException", unzip)
        return update_code(self, updated_spec)

    invoke = LambdaResponse.invoke

    def checked_invoke(self: Any) -> Any:
        _invoke_problem(self)
        return invoke(self)

    LambdaBackend.create_function = create_function
    LambdaFunction.update_configuration = update_configuration
    LambdaFunction.update_function_code = update_function_code
    LambdaResponse.invoke = checked_invoke
    LambdaBackend.add_permission = _checked_add_permission(LambdaBackend.add_permission)
