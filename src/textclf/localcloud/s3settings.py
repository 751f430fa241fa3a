"""S3 bucket and object settings outside S3's values are refused, as S3 refuses them (moto stored
them: issue 27, R14B-16). terraform/storage.tf sets versioning, default encryption and lifecycle
rules on every bucket, so a wrong value there failed only the real apply.

- PutBucketVersioning: Status is Enabled or Suspended, else MalformedXML (S3 API reference,
  PutBucketVersioning, VersioningConfiguration,
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_VersioningConfiguration.html).
- PutBucketEncryption: SSEAlgorithm is AES256, aws:kms or aws:kms:dsse (ServerSideEncryptionByDefault,
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html), a
  KMSMasterKeyID only with aws:kms or aws:kms:dsse: MalformedXML / InvalidArgument.
- PutObject, CopyObject, CreateMultipartUpload: `x-amz-server-side-encryption` takes those values
  (S3 API reference, PutObject, ServerSideEncryption), else 400 InvalidArgument "The encryption
  method specified is not supported"; an SSE-KMS key that does not exist is 400
  KMS.NotFoundException (S3 API reference, "Error responses"; "Using server-side encryption with
  AWS KMS keys", https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
- Lifecycle: Expiration Days, NoncurrentVersionExpiration NoncurrentDays and
  AbortIncompleteMultipartUpload DaysAfterInitiation are positive integers ("The value must be a
  non-zero positive integer", LifecycleExpiration,
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html), else InvalidArgument.
"""

from __future__ import annotations

import sys
from typing import Any

VERSIONING = ("Enabled", "Suspended")
ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
# (rule element, its days field, S3's name of the action in the message)
DAY_FIELDS = (
    ("Expiration", "Days", "Expiration"),
    ("NoncurrentVersionExpiration", "NoncurrentDays", "NoncurrentVersionExpiration"),
    ("AbortIncompleteMultipartUpload", "DaysAfterInitiation", "AbortIncompleteMultipartUpload"),
)


def _error(code: str, message: str, status: int = 400) -> Exception:
    from moto.s3.exceptions import S3ClientError

    print(f"[local cloud] REFUSED (S3 {code}): {message}", file=sys.stderr)
    error = S3ClientError(code, message)
    error.http_status_code = status  # type: ignore[attr-defined]  (iam._errors_with_their_status)
    return error


def _malformed(detail: str) -> Exception:
    return _error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema: "
        f"{detail}",
    )


def encryption_problem(encryption: Any) -> Exception | None:
    rules = (encryption or {}).get("Rule") if isinstance(encryption, dict) else None
    for rule in rules if isinstance(rules, list) else [rules]:
        default = (rule or {}).get("ApplyServerSideEncryptionByDefault") if isinstance(rule, dict) else None
        if not isinstance(default, dict):
            continue
        algorithm = default.get("SSEAlgorithm")
        if algorithm not in ALGORITHMS:
            return _malformed(f"SSEAlgorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        if default.get("KMSMasterKeyID") and algorithm not in KMS_ALGORITHMS:
            return _error(
                "InvalidArgument",
                "a KMSMasterKeyID is allowed only if SSEAlgorithm is aws:kms or aws:kms:dsse",
            )
    return None


def lifecycle_problem(rules: Any) -> Exception | None:
    for rule in rules if isinstance(rules, list) else [rules]:
        if not isinstance(rule, dict):
            continue
        if rule.get("Status") not in ("Enabled", "Disabled"):
            # LifecycleRule Status "Valid Values: Enabled | Disabled" (S3 API reference, LifecycleRule,
            # https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html)
            return _malformed(
                f"rule {rule.get('ID')!r}: Status {rule.get('Status')!r} is not Enabled or Disabled"
            )
        for element, field, action in DAY_FIELDS:
            block = rule.get(element)
            if not isinstance(block, dict) or block.get(field) is None:
                continue
            try:
                days = int(str(block[field]))
            except ValueError:
                days = 0
            if days < 1:
                return _error(
                    "InvalidArgument",
                    f"'{field}' for {action} action must be a positive integer (rule {rule.get('ID')!r})",
                )
    return None


def _kms_key_exists(key: str, region: str) -> bool:
    from moto.kms.models import kms_backends

    from textclf.localcloud import iam

    backend = kms_backends[iam.ACCOUNT][region]
    key_arn = iam.kms_key_arn(key, region)
    return key_arn.rsplit("/", 1)[-1] in backend.keys


def object_encryption_problem(headers: Any, region: str) -> Exception | None:
    algorithm = headers.get("x-amz-server-side-encryption")
    if algorithm is None:
        return None
    if algorithm not in ALGORITHMS:
        return _error(
            "InvalidArgument",
            f"The encryption method specified is not supported (x-amz-server-side-encryption {algorithm!r}: "
            f"use one of {', '.join(ALGORITHMS)})",
        )
    key = headers.get("x-amz-server-side-encryption-aws-kms-key-id")
    if key and algorithm in KMS_ALGORITHMS and not _kms_key_exists(str(key), region):
        return _error("KMS.NotFoundException", f"Invalid keyId {key}: no such KMS key in {region}")
    return None


def install() -> None:
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    versioning = S3Backend.put_bucket_versioning

    def put_bucket_versioning(self: Any, bucket_name: str, status: str) -> None:
        if status not in VERSIONING:
            raise _malformed(f"Status {status!r} is not Enabled or Suspended")
        return versioning(self, bucket_name, status)

    encryption = S3Backend.put_bucket_encryption

    def put_bucket_encryption(self: Any, bucket_name: str, config: dict[str, Any]) -> None:
        problem = encryption_problem(config)
        if problem:
            raise problem
        return encryption(self, bucket_name, config)

    lifecycle = S3Backend.put_bucket_lifecycle_configuration

    def put_bucket_lifecycle_configuration(self: Any, bucket_name: str, rules: list[dict[str, Any]]) -> None:
        problem = lifecycle_problem(rules)
        if problem:
            raise problem
        return lifecycle(self, bucket_name, rules)

    key_put = S3Response._key_response_put

    def key_response_put(self: Any, query: dict[str, Any], key_name: str) -> Any:
        problem = object_encryption_problem(self.headers, self.region)
        if problem:
            raise problem
        return key_put(self, query, key_name)

    key_post = S3Response._key_response_post

    def key_response_post(
        self: Any, request: Any, body: bytes, bucket_name: str, query: Any, key_name: str
    ) -> Any:
        problem = object_encryption_problem(request.headers, self.region)
        if problem:
            raise problem
        return key_post(self, request, body, bucket_name, query, key_name)

    S3Backend.put_bucket_versioning = put_bucket_versioning
    S3Backend.put_bucket_encryption = put_bucket_encryption
    S3Backend.put_bucket_lifecycle_configuration = put_bucket_lifecycle_configuration
    S3Response._key_response_put = key_response_put
    S3Response._key_response_post = key_response_post
