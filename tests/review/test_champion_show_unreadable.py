"""`textclf champion show` read metrics/eval.json (for its classes) with an unbounded read and no
check of what the file is: a named pipe there blocked it for ever, a link to /dev/zero would be
read without end (bad-input round 10, H-k). The gate, the summary and the report name such a file;
champion show now refuses it the same way, one line, and still runs without metrics at all."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from textclf import cli

WAIT_SECONDS = 20


def champion_show() -> int | None:
    """cli.main(champion show), or None when it has not returned within WAIT_SECONDS (blocked)."""
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(cli.main(["champion", "show", "--champion", "main"])), daemon=True
    )
    worker.start()
    worker.join(WAIT_SECONDS)
    return result[0] if result else None


def unblock(fifo: Path) -> None:
    """A reader still waiting on the pipe (the old code) gets end of file and returns."""
    with contextlib.suppress(OSError):  # nobody was reading
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_champion_show_refuses_a_metrics_file_that_is_no_regular_file(pr_repo, capsys, kind: str) -> None:
    metrics = pr_repo.root / "metrics" / "eval.json"
    metrics.unlink()
    if kind == "fifo":
        os.mkfifo(metrics)
    else:
        metrics.symlink_to("/dev/zero")
    try:
        status = champion_show()
    finally:
        if kind == "fifo":
            unblock(metrics)
    assert status is not None, f"champion show blocked on a {kind} metrics/eval.json"
    err = capsys.readouterr().err
    assert status == 2, err
    assert "metrics/eval.json: cannot be read (a device, pipe or socket, not a regular file)" in err, err
    assert "dvc repro" in err and "Traceback" not in err and err.count("\n") == 1, err


def test_champion_show_without_metrics_still_shows_the_champion(pr_repo, capsys) -> None:
    (pr_repo.root / "metrics" / "eval.json").unlink()
    assert champion_show() == 0
    assert '"origin": "main"' in capsys.readouterr().out
