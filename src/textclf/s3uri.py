"""`s3://bucket/key` URIs, parsed in one place for the project and its local cloud.

The redeploy Lambda keeps its own few lines: its zip carries `redeploy.py` and nothing else.
"""

from __future__ import annotations

import re


def split_s3_uri(uri: str) -> tuple[str, str]:
    """The bucket and key (or key prefix, possibly empty) of an s3:// URI; ValueError otherwise."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


# A prefix a workflow input may name: S3's bucket naming rules (3-63 characters: lower-case letters,
# digits, dots and hyphens, beginning and ending with a letter or digit) and, for the key, only the
# characters S3's object key naming guidelines call safe ("Naming Amazon S3 objects": letters, digits
# and ! - _ . * ' ( ) /). Nothing a shell, make or markdown would read as syntax gets through.
STRICT_PREFIX = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*'()/-]*)?")


def check_prefix(uri: str, name: str) -> str:
    """`uri` if it is a strict s3://bucket/prefix; ValueError naming the input otherwise."""
    if not STRICT_PREFIX.fullmatch(uri) or ".." in uri:
        raise ValueError(
            f"{name} {uri!r} is not an s3://bucket/prefix: the bucket in lower-case letters, digits, dots "
            "and hyphens, the prefix in letters, digits and ! - _ . * ' ( ) / only"
        )
    return uri


def main(argv: list[str]) -> int:
    """`python -m textclf.s3uri check NAME...`: each named environment variable holds a strict prefix."""
    import os
    import sys

    if not argv or argv[0] != "check" or len(argv) < 2:
        print("usage: python -m textclf.s3uri check VARIABLE...", file=sys.stderr)
        return 2
    try:
        for name in argv[1:]:
            check_prefix(os.environ.get(name, ""), name)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
