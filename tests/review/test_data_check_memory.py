"""The report's data checks need memory bounded whatever the number of classes (issue 27, H-e): the
label-error check's naive Bayes held folds x classes x 2**18 float64 counts, about 20 MB a class
whatever the rows (150 classes: 3.3 GB; 300 under a 3 GB limit: a MemoryError traceback from
`textclf report`). What would still not fit is refused with the figures, and running out of memory
is a DataCheckError (the checks did not run), never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from textclf.review import data_checks

WORDS = [
    "order",
    "refund",
    "parcel",
    "late",
    "account",
    "login",
    "password",
    "card",
    "charge",
    "invoice",
    "return",
    "label",
    "box",
    "broken",
]
# Address space for the whole interpreter (numpy, scipy): the old counts alone for 150 classes were
# 5 x 150 x 2**18 x 8 bytes = 1.5 GiB.
LIMIT_MB = 1024


def write_prepared(folder: Path, classes: int, rows: int = 450) -> list[str]:
    """Prepared splits of `rows` rows each over `classes` classes, and the train split's class
    counts in folder/metrics/data.json (the report's checks run from the workspace root)."""
    labels = [f"c{i}" for i in range(classes)]
    (folder / "labels.json").write_text(json.dumps({"labels": labels}), encoding="utf-8")
    for offset, name in enumerate(data_checks.SPLIT_NAMES):
        lines = [
            json.dumps(
                {
                    "text": " ".join(WORDS[(i * 7 + offset + k * k) % len(WORDS)] for k in range(8))
                    + f" w{i}",
                    "label": labels[i % classes],
                }
            )
            for i in range(rows)
        ]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "metrics").mkdir()
    counts = {label: rows // classes for label in labels}
    (folder / "metrics" / "data.json").write_text(
        json.dumps({"classes": {"train": counts}}), encoding="utf-8"
    )
    return labels


RUN_LIMITED = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, ({limit} << 20, {limit} << 20))
from textclf.review import data_checks
checks = data_checks.run(Path("."), compare=False)
print("flagged", len(checks["label_issues"]["issues"]), "of", sum(checks["label_issues"]["rows"].values()))
"""


def test_150_classes_are_checked_in_a_bounded_address_space(tmp_path):
    write_prepared(tmp_path, 150)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")

    done = subprocess.run(
        [sys.executable, "-c", RUN_LIMITED.format(limit=LIMIT_MB)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("of 1350"), done.stdout


def test_more_scores_than_the_bound_are_refused_with_the_figures(tmp_path, monkeypatch):
    write_prepared(tmp_path, 30, rows=40)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data_checks, "MAX_SCORE_CELLS", 1000)

    with pytest.raises(data_checks.DataCheckError) as raised:
        data_checks.run(tmp_path, compare=False)

    message = str(raised.value)
    assert message.startswith("data checks: 120 rows x 30 classes need ~")
    assert "GiB for the label-error check's class scores, more than its bound of" in message
    assert "merge rare classes" in message


def test_running_out_of_memory_is_a_data_check_error(tmp_path, monkeypatch):
    write_prepared(tmp_path, 3, rows=20)
    monkeypatch.chdir(tmp_path)

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 2.93 GiB for an array with shape (5, 300, 262144)")

    monkeypatch.setattr(data_checks, "out_of_fold_scores", exhausted)

    with pytest.raises(data_checks.DataCheckError, match=r"^data checks: out of memory \(Unable to allocate"):
        data_checks.run(tmp_path, compare=False)
