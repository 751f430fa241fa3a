"""`textclf train` on missing or malformed prepared data: one message naming the file and line,
exit 2, nothing trained or written (checked before any model loads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
GOOD_ROW = json.dumps({"text": "Where is my parcel?", "label": "delivery"}) + "\n"
LABELS = json.dumps({"labels": ["account", "billing", "cancellation", "delivery", "product", "returns"]})


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "data/prepared lacks train.jsonl, validation.jsonl, labels.json: run the prepare stage first"),
        ({"labels.json": "{not json"}, 'labels.json: expected {"labels": [...]}'),
        ({"labels.json": '{"labels": "billing"}'}, 'labels.json: expected {"labels": [...]}'),
        ({"labels.json": "[1, 2]"}, 'labels.json: expected {"labels": [...]}'),
        ({"train.jsonl": GOOD_ROW + "{broken\n"}, "train.jsonl line 2: not a JSON object"),
        ({"train.jsonl": GOOD_ROW + '{"text": null, "label": "billing"}\n'}, "train.jsonl line 2: expected"),
        (
            {"validation.jsonl": '{"text": "x", "label": "warranty"}\n'},
            "validation.jsonl line 1: label 'warranty'",
        ),
        ({"train.jsonl": ""}, "train.jsonl: no rows"),
        ({"train.jsonl": b"\xff\xfe\n"}, "train.jsonl: not UTF-8"),
    ],
)
def test_train_refuses_prepared_data_it_cannot_use(tmp_path, repo_root, files, message):
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    if files:
        prepared = tmp_path / "data/prepared"
        prepared.mkdir(parents=True)
        defaults = {"labels.json": LABELS, "train.jsonl": GOOD_ROW, "validation.jsonl": GOOD_ROW}
        for name, content in {**defaults, **files}.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            (prepared / name).write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "train"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC), "TEXTCLF_TRAIN_BACKEND": "local"},
    )
    assert done.returncode == 2, done.stderr
    # An error is folded at 100 columns, a long path too: compared without the folds and spaces.
    logged = "".join(done.stderr.replace("\n[textclf] ", "").split())
    assert "".join(message.split()) in logged and "Traceback" not in done.stderr
    assert not (tmp_path / "models").exists() and not (tmp_path / "metrics").exists()
