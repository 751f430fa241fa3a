"""`dvc repro`'s standard output as `make repro` shows it: every line but DVC's closing hint.

After stages ran, DVC ends with "To track the changes with git, run: git add dvc.lock ...", "To
enable auto staging ..." and "Use `dvc push` to send your updates to remote storage.": printed
before the project's summary, it pushed the summary's own next steps up, and its `dvc push` fails
offline. The summary says instead what to commit and when `dvc push` applies (review/summary.py).
Only those lines (and the blank lines between them) are dropped; the stages' lines, DVC's "Running
stage" lines and anything else pass at once, line by line. Errors go to standard error, which
does not pass through here.

    PYTHONUNBUFFERED=1 dvc repro | python -m textclf.review.dvc_output
"""

from __future__ import annotations

import io
import signal
import sys
from typing import BinaryIO

from textclf.interrupt import reader_gone

# DVC 3's wording: dvc/repo/scm_context.py (the git hint) and dvc/commands/repro.py (the push line).
HINT_START = b"To track the changes with git, run:"
HINT_LINES = frozenset({b"To enable auto staging, run:", b"\tdvc config core.autostage true", b""})
GIT_ADD = b"\tgit add "
PUSH_LINE = b"Use `dvc push` to send your updates to remote storage."


def without_hint(source: BinaryIO, sink: BinaryIO) -> None:
    """Copy `source` to `sink` line by line without DVC's closing hint. Blank lines are held until
    the next line shows whether they belong to the hint; a partial last line passes as it is."""
    held: list[bytes] = []
    in_hint = False
    for line in iter(source.readline, b""):
        text = line.rstrip(b"\r\n")
        if text in (HINT_START, PUSH_LINE):
            held, in_hint = [], text == HINT_START
            continue
        if in_hint and (text in HINT_LINES or text.startswith(GIT_ADD)):
            continue
        in_hint = False
        if not text:
            held.append(line)
            continue
        sink.write(b"".join(held) + line)
        sink.flush()
        held = []
    sink.write(b"".join(held))
    sink.flush()


def main() -> int:
    # Ctrl-C reaches every process of the terminal's foreground group: DVC stops its stage and says
    # so, and this filter passes those last lines on until DVC closes the pipe, instead of ending
    # first with a traceback of its own (issue 29: a newcomer's interrupted `make repro`). So do a
    # SIGTERM to the group (a cancelled job, `kill` of make's group) and a closed terminal's SIGHUP:
    # a filter gone first left the stage writing into a closed pipe, and its "Broken pipe" error
    # blamed a path.
    for stopping in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stopping, signal.SIG_IGN)
    if sys.stdout is None:  # started with its standard output closed (`>&-`): nowhere to pass lines to
        return 1
    source = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()  # `<&-`: nothing to pass
    try:
        without_hint(source, sys.stdout.buffer)
    except BrokenPipeError:  # the reader went first (`make repro | head`): stop quietly
        return reader_gone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
