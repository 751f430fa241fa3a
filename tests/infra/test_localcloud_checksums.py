"""An object write whose checksum does not match its body is refused, as S3 refuses it.

S3 computes the checksum of the body it received and compares it with the `Content-MD5` or
`x-amz-checksum-<algorithm>` value the request carries (header or aws-chunked trailer): a
mismatch is `BadDigest` (HTTP 400) and nothing is stored; a value that is no base64 digest of the
algorithm's length is `InvalidRequest` (`InvalidDigest` for Content-MD5). S3 API reference,
"Error responses"; S3 User Guide, "Checking object integrity in Amazon S3". Each test sends a
real boto3 request to the local cloud."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from textclf.localcloud import checksums

BUCKET = "textclf-checksums"
BODY = b"a checkpoint written while the trainer was still writing it\n" * 64
WRONG_BODY = b"another body, of another file" * 3


def _value(algorithm: str, body: bytes) -> str:
    return base64.b64encode(checksums.digest(algorithm, body)).decode()


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _refused(call, code: str, message: str) -> None:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, 400), error
    assert error["Error"]["Message"] == message


def _absent(s3, key: str) -> None:
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0, f"{key} was stored"


@contextlib.contextmanager
def _hooked(s3, *hooks: tuple[str, Callable[..., None]]) -> Iterator[None]:
    """botocore event handlers on the client, first in line, for the block."""
    for event, handler in hooks:
        s3.meta.events.register_first(event, handler)
    try:
        yield
    finally:
        for event, handler in hooks:
            s3.meta.events.unregister(event, handler)


def _crc32_refused(s3, key: str) -> None:
    """boto3's own upload of BODY (its default CRC32) is refused as another body's, and not stored."""
    _refused(
        lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=io.BytesIO(BODY)),
        "BadDigest",
        "The CRC32 you specified did not match the calculated checksum.",
    )
    _absent(s3, key)


def test_the_digests_are_the_published_check_values():
    """CRC-32C and CRC-64/NVME have no implementation in the standard library: the local cloud's
    own must give the catalogued check value of "123456789" (CRC RevEng catalogue)."""
    check = b"123456789"
    assert checksums.digest("CRC32C", check) == (0xE3069283).to_bytes(4, "big")
    assert checksums.digest("CRC64NVME", check) == (0xAE8B14860A799888).to_bytes(8, "big")
    assert checksums.digest("CRC32", check) == (0xCBF43926).to_bytes(4, "big")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_a_put_object_whose_checksum_is_another_bodys_is_refused_and_not_stored(s3, algorithm):
    key = f"checkpoints/{algorithm}/model.bin"
    wrong = {f"Checksum{algorithm}": _value(algorithm, WRONG_BODY)}
    _refused(
        lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=BODY, **wrong),
        "BadDigest",
        f"The {algorithm} you specified did not match the calculated checksum.",
    )
    _absent(s3, key)
    right = {f"Checksum{algorithm}": _value(algorithm, BODY)}
    s3.put_object(Bucket=BUCKET, Key=key, Body=BODY, **right)
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == BODY


def test_a_checksum_that_is_no_digest_of_its_algorithm_is_an_invalid_request(s3):
    _refused(
        lambda: s3.put_object(Bucket=BUCKET, Key="k", Body=BODY, ChecksumSHA256=_value("CRC32", BODY)),
        "InvalidRequest",
        "Value for x-amz-checksum-sha256 header is invalid.",
    )
    _absent(s3, "k")


def test_a_request_that_states_two_algorithms_is_an_invalid_request(s3):
    both = {"ChecksumCRC32": _value("CRC32", BODY), "ChecksumSHA256": _value("SHA256", BODY)}
    _refused(
        lambda: s3.put_object(Bucket=BUCKET, Key="k", Body=BODY, **both),
        "InvalidRequest",
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    )
    _absent(s3, "k")


def test_a_content_md5_that_does_not_match_is_a_bad_digest_and_one_that_is_no_md5_invalid(s3):
    wrong = base64.b64encode(hashlib.md5(WRONG_BODY).digest()).decode()
    _refused(
        lambda: s3.put_object(Bucket=BUCKET, Key="md5", Body=BODY, ContentMD5=wrong),
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
    )
    _refused(
        lambda: s3.put_object(Bucket=BUCKET, Key="md5", Body=BODY, ContentMD5="MTIz"),
        "InvalidDigest",
        "The Content-MD5 you specified was invalid.",
    )
    _absent(s3, "md5")
    right = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    s3.put_object(Bucket=BUCKET, Key="md5", Body=BODY, ContentMD5=right)


def test_a_body_changed_after_boto3_computed_its_checksum_is_refused(s3):
    """What happened to a checkpoint synced while it was written: boto3 computes the default CRC32
    of the body, then sends other bytes. The hook changes the body after the checksum and before
    the request is signed, so the signature is good and only the checksum tells."""

    def change_the_body(request, **_):
        assert request.headers.get("x-amz-checksum-crc32"), "boto3 sent no checksum to corrupt"
        request.data = BODY.replace(b"checkpoint", b"CHECKPOINT")

    with _hooked(s3, ("request-created.s3.PutObject", change_the_body)):
        _crc32_refused(s3, "changed")


def test_an_upload_part_whose_checksum_does_not_match_is_refused(s3):
    key = "parts/model.tar.gz"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    part = {"Bucket": BUCKET, "Key": key, "UploadId": upload, "PartNumber": 1, "Body": BODY}
    _refused(
        lambda: s3.upload_part(**part, ChecksumSHA256=_value("SHA256", WRONG_BODY)),
        "BadDigest",
        "The SHA256 you specified did not match the calculated checksum.",
    )
    assert not s3.list_parts(Bucket=BUCKET, Key=key, UploadId=upload).get("Parts")
    etag = s3.upload_part(**part, ChecksumSHA256=_value("SHA256", BODY))["ETag"]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etag, "ChecksumSHA256": _value("SHA256", BODY)}]
        },
    )
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == BODY


def test_boto3s_own_uploads_pass_with_their_default_checksums(s3, tmp_path):
    """Flexible checksums as boto3 sends them (CRC32 in a header over HTTP), in one PutObject and
    in parts (upload_file above its multipart threshold), and with Content-MD5 beside them."""
    small = tmp_path / "small.bin"
    small.write_bytes(BODY)
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (9 * 1024 * 1024 // 256))
    s3.upload_file(str(small), BUCKET, "small.bin")
    s3.upload_file(str(big), BUCKET, "big.bin")
    md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    s3.put_object(Bucket=BUCKET, Key="with-md5", Body=BODY, ContentMD5=md5, ChecksumAlgorithm="SHA1")
    assert s3.get_object(Bucket=BUCKET, Key="big.bin")["Body"].read() == big.read_bytes()


def _in_a_trailer(params, **_):
    """What boto3 does over HTTPS (botocore's httpchecksum: "we'll only use trailers over TLS"):
    the checksum goes in an aws-chunked trailer. The local cloud is HTTP, so the test asks for it."""
    params["context"]["checksum"]["request_algorithm"]["in"] = "trailer"


def _another_trailer(request, **_):
    """Replace the trailer boto3 computed while streaming the body by another body's CRC32."""
    sent = request.body.read()
    right = _value("CRC32", BODY).encode()
    assert sent.count(right) == 1, "boto3 sent no CRC32 trailer for the body"
    request.body = sent.replace(right, _value("CRC32", WRONG_BODY).encode())
    del request.headers["Transfer-Encoding"]
    request.headers["Content-Length"] = str(len(request.body))


def test_a_checksum_in_an_aws_chunked_trailer_is_checked_too(s3):
    """boto3's streaming upload with a trailing checksum (S3 API reference, "Signature
    Calculations for the Authorization Header: Transferring Payload in Multiple Chunks", trailing
    headers): the right one is stored, another body's is refused."""
    with _hooked(s3, ("before-call.s3.PutObject", _in_a_trailer)):
        s3.put_object(Bucket=BUCKET, Key="trailer", Body=io.BytesIO(BODY))
        assert s3.get_object(Bucket=BUCKET, Key="trailer")["Body"].read() == BODY
        with _hooked(s3, ("before-send.s3.PutObject", _another_trailer)):
            _crc32_refused(s3, "trailer-changed")


def test_the_trailer_is_read_from_signed_and_unsigned_chunks():
    unsigned = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
    assert checksums.trailers(unsigned) == {"x-amz-checksum-crc32": "NhCmhg=="}
    signatures = (b";chunk-signature=" + b"a" * 64, b";chunk-signature=" + b"b" * 64)
    signed = b"\r\n".join(
        [b"5" + signatures[0], b"hello", b"0" + signatures[1], b"x-amz-checksum-sha256:abc=", b"", b""]
    )
    assert checksums.trailers(signed)["x-amz-checksum-sha256"] == "abc="
    assert _value("CRC32", b"hello") == "NhCmhg=="
