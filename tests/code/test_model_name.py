"""A model.name folder that exists but cannot be loaded (config.json without model_type, no
tokenizer): one message naming it, exit 2, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

SRC = Path(__file__).resolve().parents[2] / "src"


def test_a_folder_transformers_cannot_load_is_one_message(tmp_path, repo_root):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}", encoding="utf-8")
    params = yaml.safe_load((repo_root / "params.yaml").read_text(encoding="utf-8"))
    params["model"]["name"] = str(broken)
    params["data"]["labels"] = ["billing", "delivery"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    prepared = tmp_path / "data/prepared"
    prepared.mkdir(parents=True)
    rows = "".join(
        json.dumps({"text": t, "label": lab}) + "\n" for t, lab in [("a", "billing"), ("b", "delivery")]
    )
    for name in ("train.jsonl", "validation.jsonl"):
        (prepared / name).write_text(rows, encoding="utf-8")
    (prepared / "labels.json").write_text(json.dumps({"labels": ["billing", "delivery"]}), encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "train"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(SRC), "TEXTCLF_TRAIN_BACKEND": "local"},
    )

    assert done.returncode == 2, done.stderr
    # An error is folded at 100 columns, a long path too: compared without the folds and spaces.
    logged = "".join(done.stderr.replace("\n[textclf] ", "").split())
    assert "".join(f"model.name={str(broken)!r} was found (local folder: {broken})".split()) in logged
    assert "Traceback" not in done.stderr and not (tmp_path / "models").exists()
