"""Object keys and user metadata S3 refuses, refused before moto stores anything.

moto stores a key of any length and any amount of user metadata. S3 refuses:

- an object key longer than 1,024 bytes of UTF-8: `KeyTooLongError`, "Your key is too long" (S3 User
  Guide, "Naming Amazon S3 objects": "The name for a key is a sequence of Unicode characters whose
  UTF-8 encoding is at most 1,024 bytes long"; S3 API reference, "Error responses");
- user-defined metadata over 2 KB, "measured by taking the sum of the number of bytes in the UTF-8
  encoding of each key and value" (S3 User Guide, "Working with object metadata"):
  `MetadataTooLarge`, "Your metadata headers exceed the maximum allowed metadata size".

Checked on PutObject, CopyObject and CreateMultipartUpload (the three requests that name a new key
and carry its metadata), after moto's own authorization, so an unauthorized caller still gets
AccessDenied first. The project's reachable case: batch-predict's transform output key is OUTPUT +
the input key + `.out`, which S3 cannot write past 1,024 bytes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

MAX_KEY_BYTES = 1024
MAX_USER_METADATA_BYTES = 2048
USER_METADATA_PREFIX = "x-amz-meta-"


def _error(code: str, message: str) -> Exception:
    from moto.s3.exceptions import S3ClientError

    return S3ClientError(code, message)


def refuse_key(key: str) -> None:
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise _error("KeyTooLongError", "Your key is too long")


def refuse_metadata(headers: Mapping[str, Any]) -> None:
    """User metadata: the x-amz-meta-* headers, each name without its prefix plus its value."""
    size = sum(
        len(name[len(USER_METADATA_PREFIX) :].encode("utf-8")) + len(str(value).encode("utf-8"))
        for name, value in headers.items()
        if isinstance(name, str) and name.lower().startswith(USER_METADATA_PREFIX)
    )
    if size > MAX_USER_METADATA_BYTES:
        raise _error("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")


def _refusing(operation: str, bucket: str, key: str, headers: Mapping[str, Any]) -> None:
    try:
        refuse_key(key)
        refuse_metadata(headers)
    except Exception as error:
        shown = key if len(key) <= 80 else f"{key[:80]}... ({len(key.encode())} bytes)"
        print(f"[local cloud] REFUSED {operation} s3://{bucket}/{shown}: {error}", file=sys.stderr)
        raise


def _checked_request(original: Callable[..., Any], operation: str) -> Callable[..., Any]:
    """PutObject and CopyObject: moto calls both after its authorization."""

    def checked(self: Any) -> Any:
        _refusing(operation, self.bucket_name, self.parse_key_name(), self.headers)
        return original(self)

    checked.__wrapped__ = original  # type: ignore[attr-defined]
    return checked


def _checked_upload(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateMultipartUpload: the backend call, after authorization, with the request's metadata."""

    def create_multipart_upload(
        self: Any, bucket_name: str, key_name: str, metadata: Any, *args: Any, **kwargs: Any
    ) -> Any:
        _refusing("CreateMultipartUpload", bucket_name, key_name, metadata)
        return original(self, bucket_name, key_name, metadata, *args, **kwargs)

    create_multipart_upload.__wrapped__ = original  # type: ignore[attr-defined]
    return create_multipart_upload


def install() -> None:
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    S3Response.put_object = _checked_request(S3Response.put_object, "PutObject")
    S3Response.copy_object = _checked_request(S3Response.copy_object, "CopyObject")
    S3Backend.create_multipart_upload = _checked_upload(S3Backend.create_multipart_upload)
