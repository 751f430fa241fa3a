"""ACLs on a bucket whose Object Ownership is "Bucket owner enforced": refused, as S3 refuses them.

"After you apply the Bucket owner enforced setting for Object Ownership, ACLs are disabled. Requests
to set ACLs or update ACLs fail with a 400 error and return the AccessControlListNotSupported error
code. Requests to read ACLs are still supported ... In your PUT operations, you must either specify
bucket owner full control ACLs or not specify an ACL. Otherwise, your PUT operations fail" (S3 User
Guide, "Troubleshooting" for Object Ownership,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html; the
message, "The bucket does not allow ACLs", is the one that page shows).

moto keeps the setting (terraform/storage.tf sets it on every bucket) but still took
`put_object_acl(ACL="public-read")`, `put_bucket_acl` and a PutObject with `ACL="public-read"`, and
then listed an AllUsers grant: a client that makes objects public passed here and fails on AWS.
Refused here, after moto's authorization and before it stores anything: PutBucketAcl and
PutObjectAcl on such a bucket, and PutObject, CopyObject and CreateMultipartUpload carrying an
`x-amz-acl` other than bucket-owner-full-control or any `x-amz-grant-*` header.

Not modelled: a bucket created without ownership controls (AWS's default for new buckets is also
Bucket owner enforced; here it is moto's, ACLs enabled), and InvalidBucketAclWithObjectOwnership.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

ACLS_DISABLED = "BucketOwnerEnforced"
OWNER_FULL_CONTROL = "bucket-owner-full-control"


def _enforced(backend: Any, bucket_name: str | None) -> bool:
    try:
        bucket = backend.get_bucket(bucket_name)
    except Exception:  # no such bucket (yet: CreateBucket): moto answers for it
        return False
    return getattr(bucket, "ownership_rule", None) == ACLS_DISABLED


def sets_acl(headers: Mapping[str, Any]) -> bool:
    """Whether a PUT's headers ask for an ACL other than the bucket owner's full control."""
    canned = next((str(v) for k, v in headers.items() if str(k).lower() == "x-amz-acl"), None)
    # werkzeug headers iterate as (name, value) pairs, a dict as names: items() reads both alike
    grants = any(str(k).lower().startswith("x-amz-grant-") for k, _ in headers.items())
    return grants or (canned is not None and canned != OWNER_FULL_CONTROL)


def _refused(operation: str, bucket_name: str | None) -> Exception:
    from moto.s3.exceptions import S3ClientError

    print(f"[local cloud] REFUSED {operation} on s3://{bucket_name}: ACLs are disabled", file=sys.stderr)
    error = S3ClientError("AccessControlListNotSupported", "The bucket does not allow ACLs")
    error.http_status_code = 400  # type: ignore[attr-defined]  (iam._errors_with_their_status)
    return error


def _checked_headers(original: Callable[..., Any]) -> Callable[..., Any]:
    """`_acl_from_headers`, which PutObject, CopyObject, CreateMultipartUpload and PutBucketAcl
    read their ACL headers with (after moto's authorization)."""

    def acl_from_headers(self: Any, headers: Mapping[str, Any]) -> Any:
        refuse_unknown_canned_acl(headers)
        if sets_acl(headers) and _enforced(self.backend, getattr(self, "bucket_name", None)):
            raise _refused("a PUT with an ACL", self.bucket_name)
        return original(self, headers)

    acl_from_headers.__wrapped__ = original  # type: ignore[attr-defined]
    return acl_from_headers


# The canned ACLs S3 knows (S3 User Guide, "Access control list (ACL) overview", Canned ACL,
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl; PutObject,
# PutBucketAcl and CreateBucket `x-amz-acl`, S3 API reference). Another value is 400 InvalidArgument
# (S3 API reference, "Error responses", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
# moto asserted and answered an HTML 500 with its AssertionError stack (issue 27, R14B-2).
CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "aws-exec-read",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)


def refuse_unknown_canned_acl(headers: Mapping[str, Any]) -> None:
    from moto.s3.exceptions import InvalidArgumentError

    canned = next((str(v) for k, v in headers.items() if str(k).lower() == "x-amz-acl"), None)
    if canned is not None and canned not in CANNED_ACLS:
        print(f"[local cloud] REFUSED x-amz-acl {canned[:100]!r}: not a canned ACL", file=sys.stderr)
        raise InvalidArgumentError(
            f"x-amz-acl {canned[:100]!r} is not a canned ACL: use one of {', '.join(CANNED_ACLS)}",
            "x-amz-acl",
            canned[:100],
        )


def _checked_copy(original: Callable[..., Any]) -> Callable[..., Any]:
    """CopyObject: moto reads its ACL headers only after it stored the copy."""

    def copy_object(self: Any) -> Any:
        refuse_unknown_canned_acl(self.headers)
        if sets_acl(self.headers) and _enforced(self.backend, self.bucket_name):
            raise _refused("CopyObject with an ACL", self.bucket_name)
        return original(self)

    copy_object.__wrapped__ = original  # type: ignore[attr-defined]
    return copy_object


def _checked_bucket_put(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateBucket: moto creates the bucket before it reads x-amz-acl; an unknown one is refused
    before anything is created."""

    def bucket_response_put(self: Any, request: Any, bucket_name: str, querystring: Any) -> Any:
        if not querystring:
            refuse_unknown_canned_acl(request.headers)
        return original(self, request, bucket_name, querystring)

    bucket_response_put.__wrapped__ = original  # type: ignore[attr-defined]
    return bucket_response_put


def _checked_object_acl(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_object_acl(self: Any) -> Any:
        if _enforced(self.backend, self.bucket_name):
            raise _refused("PutObjectAcl", self.bucket_name)
        return original(self)

    put_object_acl.__wrapped__ = original  # type: ignore[attr-defined]
    return put_object_acl


def _checked_bucket_acl(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_bucket_acl(self: Any, bucket_name: str, acl: Any) -> Any:
        if _enforced(self, bucket_name):
            raise _refused("PutBucketAcl", bucket_name)
        return original(self, bucket_name, acl)

    put_bucket_acl.__wrapped__ = original  # type: ignore[attr-defined]
    return put_bucket_acl


def install() -> None:
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    S3Response._acl_from_headers = _checked_headers(S3Response._acl_from_headers)
    S3Response.put_object_acl = _checked_object_acl(S3Response.put_object_acl)
    S3Response.copy_object = _checked_copy(S3Response.copy_object)
    S3Response._bucket_response_put = _checked_bucket_put(S3Response._bucket_response_put)
    S3Backend.put_bucket_acl = _checked_bucket_acl(S3Backend.put_bucket_acl)
