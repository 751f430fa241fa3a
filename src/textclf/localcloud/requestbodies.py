"""A request body that is not UTF-8 never ends in an HTML 500 (issue 27, R14B-33).

moto decodes every non-S3 request body as UTF-8 before it routes the request
(`BaseResponse.setup_class`), so a latin-1 CSV sent to an endpoint, or a Lambda payload with a 0xff
byte, was an HTML 500 with a UnicodeDecodeError stack. AWS:
- SageMaker Runtime InvokeEndpoint's Body is a blob: "Amazon SageMaker AI passes all of the data in
  the body to the model as is" (InvokeEndpoint API reference,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html): the
  request is routed with its bytes (runtime.py hands `raw_body` to the container, whose server
  answers its own 400/415);
- Lambda Invoke's Payload is a blob that must be JSON: the bytes are kept, and lambdas.invoke_event
  answers InvalidRequestContentException, 400 (Lambda API reference, Invoke, Errors,
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html);
- any other request whose body is not UTF-8 text is a client error, HTTP 400 (the JSON protocols'
  SerializationException; "Common Errors" of the AWS APIs, MalformedQueryString for the query
  protocol, https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
"""

from __future__ import annotations

import sys
from typing import Any


def _blob(response: Any, request: Any) -> bool:
    """Whether this request's body is a blob the operation takes as bytes."""
    kind = type(response).__name__
    path = str(getattr(request, "path", "") or "")
    return kind == "SageMakerRuntimeResponse" or (kind == "LambdaResponse" and path.endswith("/invocations"))


def _refusal(request: Any, error: UnicodeDecodeError) -> Exception:
    from moto.core.exceptions import JsonRESTError, _RESTError

    message = f"The request body is not valid UTF-8 (byte {error.start}): send UTF-8 text"
    print(f"[local cloud] REFUSED a request: {message}", file=sys.stderr)
    form = "x-www-form-urlencoded" in str(request.headers.get("Content-Type") or "").lower()
    refused: _RESTError = (
        _RESTError("MalformedQueryString", message)
        if form
        else JsonRESTError("SerializationException", message)
    )
    refused.code = 400
    return refused


def install() -> None:
    from moto.core.responses import BaseResponse

    original = BaseResponse.setup_class

    def setup_class(
        self: Any, request: Any, full_url: Any = None, headers: Any = None, use_raw_body: Any = None
    ) -> None:
        try:
            return original(self, request, full_url, headers, use_raw_body)
        except UnicodeDecodeError as error:
            if not _blob(self, request):
                raise _refusal(request, error) from None
            return original(self, request, full_url, headers, True)  # the body stays bytes

    setup_class.__wrapped__ = original  # type: ignore[attr-defined]
    BaseResponse.setup_class = setup_class
