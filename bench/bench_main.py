"""How every benchmark ends on settings it cannot use: the one-line error naming the file and the
key, exit 2, no traceback (as the textclf commands do)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from textclf.config import ParamsError


def run(main: Callable[[], object], script: str) -> None:
    """Run a benchmark's main() as its program: its return value (an int) is the exit status."""
    try:
        status = main()
    except ParamsError as error:
        print(f"[{Path(script).name}] error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(status if isinstance(status, int) else 0)
