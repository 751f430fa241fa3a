"""summary and report over metrics files of the wrong kind (issue 27 round 7, H-c): metrics/eval.json
as a link to /dev/zero was read without end (8 GB in 6 s) and as a FIFO blocked both commands for ever,
while the gate refused it. Both now read it as the gate does (a bounded regular file) and the report
refuses a device or pipe in place of any metrics file DVC would read, before calling DVC."""

from __future__ import annotations

import os
import threading

import pytest

from textclf import cli
from textclf.review import report

NOT_REGULAR = "cannot be read (a device, pipe or socket, not a regular file)"


@pytest.fixture
def replace(request):
    """Put a FIFO or a device link in place of a file; the file comes back after the test (some are
    git-ignored, so the next test's `git clean` would not remove the FIFO)."""

    def put(path, kind: str) -> None:
        before = path.read_bytes() if path.is_file() else None
        request.addfinalizer(lambda: restore(path, before))
        path.unlink(missing_ok=True)
        if kind == "fifo":
            os.mkfifo(path)
        else:  # /dev/null: a device as /dev/zero is, but one a failing test survives
            path.symlink_to("/dev/null")

    return put


def restore(path, before: bytes | None) -> None:
    path.unlink(missing_ok=True)
    if before is not None:
        path.write_bytes(before)


def bounded(args: list[str]) -> int:
    """`textclf <args>` in a thread that must end within 20 s (a FIFO used to block it for ever)."""
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(cli.main(args)), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), f"textclf {' '.join(args)} blocked reading the metrics"
    return outcome[0]


@pytest.fixture
def no_dvc(monkeypatch):
    calls: list[str] = []

    def dvc_diffs(base_ref):
        calls.append(base_ref)
        raise AssertionError("DVC was called before the metrics files were checked")

    monkeypatch.setattr(report, "dvc_diffs", dvc_diffs)
    return calls


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize(
    "command", [["summary"], ["report", "--champion", "main"]], ids=["summary", "report"]
)
def test_eval_json_that_is_not_a_regular_file_is_refused_at_once(
    pr_repo, no_dvc, replace, capsys, kind, command
):
    replace(pr_repo.root / "metrics" / "eval.json", kind)
    assert bounded(command) != 0
    assert f"metrics/eval.json: {NOT_REGULAR}" in capsys.readouterr().err
    assert no_dvc == []


@pytest.mark.parametrize("name", ["gate.json", "reference.json"])
def test_a_metrics_file_only_dvc_reads_is_refused_before_dvc(pr_repo, no_dvc, replace, capsys, name):
    (pr_repo.root / "metrics").mkdir(exist_ok=True)
    replace(pr_repo.root / "metrics" / name, "fifo")
    assert bounded(["report", "--champion", "main"]) != 0
    assert f"metrics/{name}: {NOT_REGULAR}" in capsys.readouterr().err
    assert no_dvc == []


def test_a_plot_csv_that_is_not_a_regular_file_is_refused(pr_repo, replace):
    replace(pr_repo.root / "plots" / "validation.csv", "fifo")
    with pytest.raises(report.ReportError, match=r"plots/validation.csv: not a CSV file of the pipeline"):
        report.read_curve(pr_repo.root / "plots" / "validation.csv")
