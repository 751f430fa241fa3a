"""Signature Version 4 for S3 requests, by hand: the serving image has no boto3 (its fetch of the
released model and its sampled capture are its only AWS calls).

The steps are AWS's ("Create a signed AWS API request", IAM User Guide): a canonical request of the
method, path, query, the signed headers and the payload's sha256; a string to sign over it with
the date and the credential scope; a signing key derived from the secret through the day, region,
service and `aws4_request`. The payload's sha256 travels in x-amz-content-sha256, as S3 requires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import urllib.parse
import urllib.request


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signed_request(
    method: str,
    url: str,
    body: bytes,
    region: str,
    credentials: dict[str, str],
    now: dt.datetime,
    extra_headers: dict[str, str] | None = None,
) -> urllib.request.Request:
    """`method` of `url` with `body`, signed for S3 in `region` with `credentials` (key, secret,
    optional token) at `now`; `extra_headers` (lower-case names) are signed too."""
    parts = urllib.parse.urlsplit(url)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    digest = hashlib.sha256(body).hexdigest()
    headers = {"host": parts.netloc, "x-amz-content-sha256": digest, "x-amz-date": amz_date}
    headers.update(extra_headers or {})
    if credentials.get("token"):
        headers["x-amz-security-token"] = credentials["token"]
    names = ";".join(sorted(headers))
    lines = "".join(f"{name}:{headers[name]}\n" for name in sorted(headers))
    canonical = "\n".join([method, parts.path or "/", parts.query, lines, names, digest])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + credentials["secret"]).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials['key']}/{scope}, SignedHeaders={names}, "
        f"Signature={signature}"
    )
    sent = {name: value for name, value in headers.items() if name != "host"}
    return urllib.request.Request(url, data=body or None, method=method, headers=sent)
