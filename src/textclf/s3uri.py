"""`s3://bucket/key` URIs and S3's bucket-name rules, in one place for the project, its local cloud
and its Lambda functions.

Standard library only (`re`): the drift and redeploy Lambda zips carry this module (their ZIP_FILES).
"""

from __future__ import annotations

import re


def split_s3_uri(uri: str) -> tuple[str, str]:
    """The bucket and key (or key prefix, possibly empty) of an s3:// URI; ValueError otherwise."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


# S3's rules for general purpose bucket names ("General purpose bucket naming rules",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3 to 63 characters,
# lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit; no two
# adjacent dots; not formatted as an IP address (192.168.5.4); not starting with a prefix S3
# reserves, xn--, sthree- (sthree-configurator included) or amzn-s3-demo-; not ending with a suffix
# S3 reserves, -s3alias (access point aliases), --ol-s3 (Object Lambda Access Point aliases), .mrap
# (Multi-Region Access Points), --x-s3 (directory buckets) or --table-s3 (table buckets). A name
# ending in -an is taken: it is the form of a bucket in an account regional namespace.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
IP_ADDRESS = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# An object key is at most 1,024 bytes of UTF-8 ("Naming Amazon S3 objects",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html): a longer prefix holds nothing.
MAX_KEY_BYTES = 1024


def bucket_name_problem(bucket: str) -> str | None:
    """Why S3 refuses `bucket` as a general purpose bucket name, after "must be an S3 bucket name";
    None when it takes it."""
    if not BUCKET_NAME.fullmatch(bucket):
        return (
            ": 3 to 63 lower-case letters, digits, dots and hyphens, beginning and ending with a letter "
            "or digit"
        )
    reserved = ["two dots in a row"] if ".." in bucket else []
    if IP_ADDRESS.fullmatch(bucket):
        reserved.append("the form of an IP address")
    reserved += [f"the prefix {prefix}" for prefix in RESERVED_BUCKET_PREFIXES if bucket.startswith(prefix)]
    reserved += [f"the suffix {suffix}" for suffix in RESERVED_BUCKET_SUFFIXES if bucket.endswith(suffix)]
    if reserved:
        return (
            f" that S3 allows: it has {' and '.join(reserved)}, which S3 refuses or reserves for its "
            'own names ("General purpose bucket naming rules" in the S3 User Guide); choose another name'
        )
    return None


# A prefix a workflow input may name: a bucket name S3 takes (bucket_name_problem) and, for the key,
# only the characters S3's object key naming guidelines call safe ("Naming Amazon S3 objects": letters,
# digits and ! - _ . * ' ( ) /), at most MAX_KEY_BYTES. Nothing a shell, make or markdown would read as
# syntax gets through.
STRICT_PREFIX = re.compile(rf"s3://{BUCKET_NAME.pattern}(/[A-Za-z0-9!_.*'()/-]*)?")


def check_prefix(uri: str, name: str) -> str:
    """`uri` if it is a strict s3://bucket/prefix; ValueError naming the input otherwise."""
    strict = STRICT_PREFIX.fullmatch(uri) is not None
    bucket, key = split_s3_uri(uri) if strict else ("", "")
    problem = bucket_name_problem(bucket) if strict else None
    if problem:
        raise ValueError(f"{name} {uri!r}: the bucket must be an S3 bucket name{problem}")
    if not strict or ".." in key:
        raise ValueError(
            f"{name} {_shortened(uri)} is not an s3://bucket/prefix: the bucket in lower-case letters, "
            "digits, dots and hyphens, the prefix in letters, digits and ! - _ . * ' ( ) / only"
        )
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise ValueError(
            f"{name} {_shortened(uri)}: the key prefix is {size:,} bytes, longer than any S3 object key "
            f"({MAX_KEY_BYTES:,} bytes): shorten it"
        )
    return uri


def _shortened(uri: str) -> str:
    return repr(uri) if len(uri) <= 80 else repr(uri[:60]) + f" ... ({len(uri):,} characters)"


def check_bucket(bucket: str, name: str) -> str:
    """`bucket` if S3 takes it as a general purpose bucket name; ValueError naming the setting otherwise."""
    problem = bucket_name_problem(bucket)
    if problem:
        raise ValueError(f"{name} {_shortened(bucket)} must be an S3 bucket name{problem}")
    return bucket


def main(argv: list[str]) -> int:
    """`python -m textclf.s3uri check NAME...`: each named environment variable holds a strict prefix;
    `python -m textclf.s3uri bucket NAME...`: each holds a bucket name S3 takes (make dvc-remote)."""
    import os
    import sys

    checks = {"check": check_prefix, "bucket": check_bucket}
    if not argv or argv[0] not in checks or len(argv) < 2:
        print("usage: python -m textclf.s3uri check|bucket VARIABLE...", file=sys.stderr)
        return 2
    try:
        for name in argv[1:]:
            checks[argv[0]](os.environ.get(name, ""), name)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
