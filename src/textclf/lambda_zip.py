"""The zip of a Lambda that ships one module alone (standard library and boto3, nothing of ours):
the module and the import-free `__init__.py` files on the way to it, written deterministically (the
same sources give the same bytes) and all or nothing.

`python -m textclf.lambda_zip MODULE TARGET.zip`, for example
`python -m textclf.lambda_zip textclf.release.redeploy build/redeploy.zip`; MODULE names its files in
`ZIP_FILES`. The Lambda modules never import this one: it runs at build time only.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import sys
import zipfile
from pathlib import Path

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources give the same bytes
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the folder that holds `textclf/`
USAGE = (
    "usage: python -m textclf.lambda_zip MODULE TARGET.zip (e.g. textclf.release.redeploy build/redeploy.zip)"
)
LAMBDAS = "textclf.release.redeploy, textclf.monitoring.drift or textclf.frontdoor.proxy"
MODULE_NAME = re.compile(r"textclf(\.[A-Za-z_][A-Za-z0-9_]*)+")


class ZipError(ValueError):
    """A module or target the builder cannot use; the message names it and what to pass."""


def build(files: tuple[str, ...], target: str) -> str:
    for name in files:
        if name.endswith("__init__.py"):
            tree = ast.parse((SOURCE_ROOT / name).read_text(encoding="utf-8"))
            if any(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.walk(tree)):
                raise RuntimeError(
                    f"{SOURCE_ROOT / name} must stay import-free: the Lambda zip ships it alone"
                )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in files:
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            archive.writestr(entry, (SOURCE_ROOT / name).read_bytes(), compresslevel=9)
    out = Path(target)
    if not out.parent.is_dir():
        # Its own folder is made (build/ in a fresh clone), not a chain of folders a typo names.
        if not out.parent.parent.is_dir():
            raise ZipError(
                f"{target}: the folder {out.parent.parent} does not exist; pass a TARGET in an existing "
                "folder (or one level below it), e.g. build/redeploy.zip"
            )
        out.parent.mkdir(exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp")
    try:
        staging.write_bytes(buffer.getvalue())
        staging.replace(out)  # all or nothing
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return str(out)


def build_for(module: str, target: str) -> str:
    """The zip of `module` (one of the Lambda modules, which list their files in ZIP_FILES)."""
    if not MODULE_NAME.fullmatch(module):
        raise ZipError(f"MODULE {module!r}: not a module of this package; name a Lambda module: {LAMBDAS}")
    try:
        files = importlib.import_module(module).ZIP_FILES
    except ImportError as error:
        raise ZipError(
            f"MODULE {module!r}: cannot be imported ({error}); name a Lambda module: {LAMBDAS}"
        ) from None
    except AttributeError:
        raise ZipError(
            f"MODULE {module!r}: lists no ZIP_FILES, so it is not a Lambda module that ships alone; name "
            f"one: {LAMBDAS}"
        ) from None
    return build(files, target)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].endswith(".zip"):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        print(build_for(argv[0], argv[1]))
    except ZipError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error.filename or argv[1]}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
