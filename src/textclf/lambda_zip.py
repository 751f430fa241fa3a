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
import sys
import zipfile
from pathlib import Path

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources give the same bytes
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the folder that holds `textclf/`


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
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp")
    staging.write_bytes(buffer.getvalue())
    staging.replace(out)  # all or nothing
    return str(out)


def build_for(module: str, target: str) -> str:
    """The zip of `module` (one of the Lambda modules, which list their files in ZIP_FILES)."""
    return build(importlib.import_module(module).ZIP_FILES, target)


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].endswith(".zip"):
        sys.exit("usage: python -m textclf.lambda_zip MODULE TARGET.zip")
    print(build_for(sys.argv[1], sys.argv[2]))
