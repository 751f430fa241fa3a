"""Request bodies a client compressed with gzip are checked against their signature as sent.

"Each PutMetricData request is limited to 1 MB in size for HTTP POST requests. You can send a
payload compressed by gzip" (CloudWatch API reference, PutMetricData,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html), and
botocore does so for every PutMetricData body of 10 KiB or more (the operation's
`requestcompression` trait, `request_min_compression_size_bytes` 10240 by default), signing the
compressed bytes: SigV4's payload hash is over "the body of the request" as it goes on the wire
(IAM user guide, "Create a signed AWS API request",
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).

moto decompresses such a body before anything reads it, so the signature check (textclf.localcloud.iam)
hashed the decompressed bytes and refused every compressed request as SignatureDoesNotMatch, sending
the caller to their secret key (issue 27, R14B-8). Here the bytes as received are kept with the request
and the signature is checked over them; the service still reads the decompressed body.
"""

from __future__ import annotations

import io
from typing import Any

# Where the compressed body as received is kept, in the request's WSGI environ (the signature check
# sees the request's headers, a view over that environ).
WIRE_BODY = "textclf.localcloud.wire_body"


def install() -> None:
    """Keep gzip bodies as received and check signatures over them; called once before the local
    cloud starts."""
    from moto.core.responses import BaseResponse
    from moto.iam.access_control import IAMRequestBase

    decompress = BaseResponse.decompress_request_body

    def keep_wire_body(self: Any, request: Any) -> None:
        if request.content_encoding == "gzip" and self.allow_request_decompression:
            wire = request.stream.read()
            request.environ[WIRE_BODY] = wire
            request.stream = io.BytesIO(wire)
        decompress(self, request)

    BaseResponse.decompress_request_body = keep_wire_body

    original_init = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        environ = getattr(self._headers, "environ", None)
        if isinstance(environ, dict) and WIRE_BODY in environ:
            self._body = environ[WIRE_BODY]  # what the client signed

    IAMRequestBase.__init__ = init
