"""CreateBucket refuses the names S3 refuses.

moto checks only a bucket name's length: it creates `192.168.5.4`, `a..b`, `sthree-x`,
`abc-s3alias` or `Upper_Case`, which S3 answers with InvalidBucketName ("General purpose bucket
naming rules", https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html:
lowercase letters, digits, dots and hyphens, no two adjacent dots, not an IP address, none of the
reserved prefixes and suffixes). The rules are `textclf.s3uri.bucket_name_problem`'s, which the
project's own checks use, so a name one refuses the other refuses.
"""

from __future__ import annotations

import sys
from typing import Any

from textclf.s3uri import bucket_name_problem


def _checked(original: Any) -> Any:
    def create_bucket(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        from moto.s3.exceptions import InvalidBucketName

        problem = bucket_name_problem(bucket_name)
        if problem:
            message = f"[local cloud] REFUSED CreateBucket {bucket_name!r}: not an S3 bucket name{problem}"
            print(message, file=sys.stderr)
            raise InvalidBucketName()
        return original(self, bucket_name, *args, **kwargs)

    create_bucket.__wrapped__ = original  # type: ignore[attr-defined]
    return create_bucket


def install() -> None:
    from moto.s3.models import S3Backend

    S3Backend.create_bucket = _checked(S3Backend.create_bucket)
