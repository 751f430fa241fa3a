"""`s3://bucket/key` URIs, parsed in one place for the project and its local cloud.

The redeploy Lambda keeps its own few lines: its zip carries `redeploy.py` and nothing else.
"""

from __future__ import annotations


def split_s3_uri(uri: str) -> tuple[str, str]:
    """The bucket and key (or key prefix, possibly empty) of an s3:// URI; ValueError otherwise."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key
