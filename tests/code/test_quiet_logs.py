"""Library noise in logs: where the output is not a terminal (CI, a pipe, a file), transformers' log
lines carry no terminal escape codes and progress bars are off (their carriage-return redraws run
together into one line); the train stage's progress lines still print, one a line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What transformers' load report logs: its title in bold whatever the output is.
REPORT = "\x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: a-model"


def test_transformers_log_lines_lose_escape_codes_in_a_log():
    code = (
        "from textclf import cli\n"
        "cli._plain_library_logs()\n"
        "from transformers.utils import logging\n"
        f"logging.get_logger('transformers.modeling_utils').warning({REPORT!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )

    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr
    assert "[transformers] BertForSequenceClassification LOAD REPORT from: a-model" in done.stderr


def test_make_turns_progress_bars_off_when_its_output_is_not_a_terminal(tmp_path):
    show = tmp_path / "show.mk"
    show.write_text('show-env:\n\t@echo "tqdm=$$TQDM_DISABLE datasets=$$HF_DATASETS_DISABLE_PROGRESS_BARS"\n')
    env = {
        key: value
        for key, value in os.environ.items()
        if "PROGRESS_BARS" not in key and key != "TQDM_DISABLE"
    }

    done = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", str(show), "show-env"],
        cwd=REPO,
        capture_output=True,  # stderr is a pipe, as in CI
        text=True,
        env=env,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tqdm=1 datasets=1"


def test_the_train_commands_long_lines_are_folded_within_100_columns():
    import io

    from textclf.cli import FoldedLines

    sink = io.StringIO()
    stream = FoldedLines(sink)
    metrics = {
        "eval_loss": "0.5091",
        "eval_accuracy": "0.974",
        "eval_macro_f1": "0.9739",
        "eval_runtime": "16.9",
    }
    print({**metrics, "eval_samples_per_second": "15.92", "eval_steps_per_second": "0.533"}, file=stream)
    stream.write("\r 40%|####      | 63/158")  # a progress bar's redraw: as it comes, not held back
    assert sink.getvalue().endswith("\r 40%|####      | 63/158")
    stream.write("\n\x1b[1mbold\x1b[0m " + "x" * 120 + "\n")
    print("short", file=stream, end="")
    stream.flush()

    lines = sink.getvalue().split("\n")
    assert lines[0].startswith("{'eval_loss': '0.5091'") and len(lines[0]) <= 100
    assert lines[1].startswith("    ") and lines[1].endswith("'eval_steps_per_second': '0.533'}")
    assert lines[3] == "\x1b[1mbold\x1b[0m " + "x" * 120  # escape codes: not measured, not cut
    assert lines[-1] == "short"
