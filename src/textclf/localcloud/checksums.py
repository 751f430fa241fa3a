"""S3 refuses an object write whose checksum does not match its body; moto stores it.

S3 computes the checksum of the body it received and compares it with the one the request states:
the `Content-MD5` header, or an `x-amz-checksum-<algorithm>` value (CRC32, CRC32C, CRC64NVME, SHA1,
SHA256) in a header or, for an aws-chunked body, in its trailer (S3 User Guide, "Checking object
integrity in Amazon S3",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html; PutObject and
UploadPart API references, `Content-MD5` and `x-amz-checksum-*`,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html). A mismatch stores nothing and
answers `BadDigest`, HTTP 400; a value that is no base64 digest of its algorithm's length answers
`InvalidRequest` (`InvalidDigest` for Content-MD5), and so does a request that states more than one
algorithm, HTTP 400 (S3 API reference, "Error responses",
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). The messages are S3's own, as
recorded from S3 by LocalStack's parity tests ("The CRC32 you specified did not match the
calculated checksum.", "The Content-MD5 you specified did not match what we received.",
"Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.").

moto keeps whatever value the request states, so a body that changed after the client computed
its checksum (a checkpoint synced while it was being written) was stored under another body's
checksum, and the first download failed instead of the upload. Checked here, after the caller was
authorized (`iam.py`) and before moto stores anything: PutObject and UploadPart. Other requests that
carry a checksum (DeleteObjects, the bucket configuration calls, CompleteMultipartUpload's
full-object checksum) are not checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import sys
import zlib
from collections.abc import Callable
from typing import Any

# The reflected polynomials of CRC-32C (Castagnoli) and CRC-64/NVME, as S3 defines them (S3 User
# Guide, "Checking object integrity"); initial value and final XOR all ones.
_CRC32C_POLY = 0x82F63B78
_CRC64NVME_POLY = 0x9A6C9329AC4BC9B5


def _table(poly: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLES: dict[int, list[int]] = {}


def _reflected_crc(data: bytes, poly: int, width: int) -> int:
    """Table-driven CRC for the two algorithms the standard library lacks (botocore computes them
    only with awscrt, which this project does not install, so clients here rarely send them)."""
    table = _TABLES.setdefault(poly, _table(poly))
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "CRC32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "CRC32C": lambda data: _reflected_crc(data, _CRC32C_POLY, 32).to_bytes(4, "big"),
    "CRC64NVME": lambda data: _reflected_crc(data, _CRC64NVME_POLY, 64).to_bytes(8, "big"),
    "SHA1": lambda data: hashlib.sha1(data).digest(),
    "SHA256": lambda data: hashlib.sha256(data).digest(),
}
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def digest(algorithm: str, data: bytes) -> bytes:
    """The raw digest S3 computes for `algorithm` (base64 of it is what headers carry)."""
    return DIGESTS[algorithm.upper()](data)


def trailers(raw: bytes) -> dict[str, str]:
    """The trailing headers of an aws-chunked body (signed chunks `size;chunk-signature=...` or
    unsigned `size`), after its last, empty chunk (S3 API reference, "Signature Calculations for
    the Authorization Header: Transferring Payload in Multiple Chunks", trailing headers,
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html). Names lower-cased."""
    position = 0
    while True:
        end = raw.find(b"\r\n", position)
        if end < 0:
            return {}
        try:
            size = int(raw[position:end].split(b";", 1)[0], 16)
        except ValueError:
            return {}
        position = end + 2
        if size == 0:
            break
        position += size + 2
    found = {}
    for line in raw[position:].split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon:
            found[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    return found


def _decoded(value: str, size: int) -> bytes | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def _error(code: str, message: str) -> Exception:
    from moto.s3.exceptions import S3ClientError

    error = S3ClientError(code, message)
    error.http_status_code = 400  # type: ignore[attr-defined]  (iam._errors_with_their_status)
    return error


def stated_checksums(headers: Any, raw_body: bytes) -> dict[str, str]:
    """The `x-amz-checksum-<algorithm>` values a request states: headers, then an aws-chunked
    body's trailer (named by `x-amz-trailer`)."""
    stated = {}
    for algorithm in DIGESTS:
        value = headers.get(f"x-amz-checksum-{algorithm.lower()}")
        if value:
            stated[algorithm] = value
    trailer = str(headers.get("x-amz-trailer") or "").strip().lower()
    if trailer.startswith("x-amz-checksum-"):
        value = trailers(raw_body).get(trailer)
        algorithm = trailer.removeprefix("x-amz-checksum-").upper()
        if value and algorithm in DIGESTS:
            stated[algorithm] = value
    return stated


def refuse_mismatch(headers: Any, raw_body: bytes, body: bytes) -> None:
    """Raise S3's error if the request's Content-MD5 or checksum is malformed or not `body`'s."""
    md5 = headers.get("Content-MD5")
    if md5:
        expected = _decoded(md5, 16)
        if expected is None:
            raise _error("InvalidDigest", "The Content-MD5 you specified was invalid.")
        if expected != hashlib.md5(body, usedforsecurity=False).digest():
            raise _error("BadDigest", "The Content-MD5 you specified did not match what we received.")
    stated = stated_checksums(headers, raw_body)
    if len(stated) > 1:
        raise _error(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    for algorithm, value in stated.items():
        expected = _decoded(value, DIGEST_SIZES[algorithm])
        if expected is None:
            raise _error("InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.")
        if expected != digest(algorithm, body):
            raise _error("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")


def _checked(original: Callable[[Any], Any], operation: str) -> Callable[[Any], Any]:
    def checked(self: Any) -> Any:
        try:
            refuse_mismatch(self.headers, self.raw_body or b"", self.body or b"")
        except Exception as error:
            print(f"[local cloud] REFUSED {operation} s3://{self.bucket_name}: {error}", file=sys.stderr)
            raise
        return original(self)

    checked.__wrapped__ = original  # type: ignore[attr-defined]
    return checked


def install() -> None:
    """Check the body of PutObject and UploadPart before moto stores it (moto calls both after
    `_authenticate_and_authorize_s3_action`, so an unauthorized caller still gets AccessDenied)."""
    from moto.s3.responses import S3Response

    S3Response.put_object = _checked(S3Response.put_object, "PutObject")
    S3Response.upload_part = _checked(S3Response.upload_part, "UploadPart")
