"""ListObjects(V2) and DeleteObjects refuse what S3 refuses (issue 27, R14B-39): moto answered a
ContinuationToken it never issued with an HTTP 500, dropped the last key for MaxKeys -1, took any
EncodingType and a DeleteObjects of any size. A paginator that resumes with a stale token (a list
that continues after the local cloud restarted) must meet S3's refusal, not a crash.

S3 API reference (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
API_ListObjects.html, API_DeleteObjects.html; "Error responses", ErrorResponses.html):
- ContinuationToken: one this listing issued, else 400 InvalidArgument "The continuation token
  provided is incorrect";
- MaxKeys: a whole number of 0 or more, else InvalidArgument; EncodingType: "url" only
  ("Valid Values: url"), else InvalidArgument;
- DeleteObjects: "The request can contain a list of up to 1,000 keys", else MalformedXML.
"""

from __future__ import annotations

import sys
from typing import Any

MAX_DELETE_KEYS = 1000


def _error(code: str, message: str, name: str | None = None, value: str | None = None) -> Exception:
    from moto.s3.exceptions import InvalidArgumentError, S3ClientError

    print(f"[local cloud] REFUSED (S3 {code}): {message}", file=sys.stderr)
    if code == "InvalidArgument" and name is not None:
        return InvalidArgumentError(message, name, str(value)[:200])
    error = S3ClientError(code, message)
    error.http_status_code = 400  # type: ignore[attr-defined]  (iam._errors_with_their_status)
    return error


def listing_problem(query: dict[str, Any], known_tokens: dict[str, Any], v2: bool) -> Exception | None:
    def first(name: str) -> str | None:
        values = query.get(name)
        return str(values[0]) if values else None

    max_keys = first("max-keys")
    if max_keys is not None and not (max_keys.isdigit()):
        return _error(
            "InvalidArgument",
            "Provided max-keys not an integer or within integer range",
            "max-keys",
            max_keys,
        )
    encoding = first("encoding-type")
    if encoding is not None and encoding != "url":
        return _error(
            "InvalidArgument",
            f"Invalid Encoding Method specified in Request: {encoding!r} (url only)",
            "encoding-type",
            encoding,
        )
    token = first("continuation-token") if v2 else None
    if token and token not in known_tokens:
        return _error(
            "InvalidArgument", "The continuation token provided is incorrect", "continuation-token", token
        )
    return None


def delete_problem(body: Any) -> Exception | None:
    import xmltodict

    try:
        objects = xmltodict.parse(body, strip_whitespace=False)["Delete"].get("Object", [])
    except Exception:  # not XML, or no Delete element: moto answers MalformedXML for it
        return None
    count = len(objects) if isinstance(objects, list) else 1
    if count > MAX_DELETE_KEYS:
        return _error(
            "MalformedXML",
            f"The XML you provided was not well-formed or did not validate against our published schema: "
            f"{count} keys in one DeleteObjects request, at most {MAX_DELETE_KEYS}",
        )
    return None


def install() -> None:
    from moto.s3.responses import S3Response

    def checked(original: Any, v2: bool) -> Any:
        def list_objects(self: Any) -> Any:
            problem = listing_problem(self.querystring, self.backend._pagination_tokens, v2)
            if problem:
                raise problem
            return original(self)

        list_objects.__wrapped__ = original  # type: ignore[attr-defined]
        return list_objects

    delete_keys = S3Response._bucket_response_delete_keys

    def bucket_response_delete_keys(self: Any, bucket_name: str, authenticated: bool = True) -> Any:
        problem = delete_problem(self.body)
        if problem:
            raise problem
        return delete_keys(self, bucket_name, authenticated)

    S3Response.list_objects = checked(S3Response.list_objects, v2=False)
    S3Response.list_objects_v2 = checked(S3Response.list_objects_v2, v2=True)
    S3Response._bucket_response_delete_keys = bucket_response_delete_keys
