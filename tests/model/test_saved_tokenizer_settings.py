"""The saved model does not depend on how the tokenizer was loaded: under HF_HUB_OFFLINE=1 (make
exports it) transformers forces `local_files_only=True` and save_pretrained wrote it into
tokenizer_config.json, so `make repro` and a plain `dvc repro` wrote two model folders from the same
training, and a fresh clone's quick start changed the committed dvc.lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# The tokenizer loaded from the default model's folder and saved by the train stage's own
# _save_model (the Trainer's own save is not what differs: it is left out).
SAVE = """
import sys
from pathlib import Path
from transformers import AutoTokenizer
from textclf.pipeline import train
from textclf.pipeline.modeling import resolve_model

class Trainer:
    def save_model(self, folder):
        Path(folder).mkdir(parents=True, exist_ok=True)

base, _ = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
tokenizer = AutoTokenizer.from_pretrained(base)
train._save_model(Trainer(), tokenizer, ["a", "b"], Path(sys.argv[1]), [])
"""


def _saved(folder: Path, offline: str) -> bytes:
    env = {**os.environ, "HF_HUB_OFFLINE": offline, "TRANSFORMERS_OFFLINE": offline}
    subprocess.run([sys.executable, "-c", SAVE, str(folder)], env=env, check=True, timeout=300)
    return (folder / "tokenizer_config.json").read_bytes()


def test_the_tokenizer_config_is_the_same_online_and_offline(tmp_path):
    offline = _saved(tmp_path / "offline", "1")
    online = _saved(tmp_path / "online", "0")

    assert offline == online
    config = json.loads(offline)
    assert "local_files_only" not in config
    assert config["do_lower_case"] is True  # the rest of the file is save_pretrained's
    assert offline.endswith(b"}\n") and b'\n  "' in offline  # its layout: indent 2, a final newline
