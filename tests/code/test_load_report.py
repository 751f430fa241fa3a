"""transformers' load report while the train stage loads its base model: the new classification
head's keys are listed as MISSING in a table that reads as an error. Under `textclf train` (and the
SageMaker job's `train-job`) it is one line saying the head is new and that this is expected; a
report that lists anything else (encoder weights missing, unexpected keys) stays whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASE = "sentence-transformers/all-MiniLM-L6-v2"  # the default model.name, a packaged model


def run(code: str, log_setup: str = "cli._plain_library_logs()\n") -> subprocess.CompletedProcess:
    """`code` after the train command's log set-up, with stderr a pipe (a log, as in CI)."""
    return subprocess.run(
        [sys.executable, "-c", "from textclf import cli\n" + log_setup + code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "TQDM_DISABLE": "1"},
        timeout=300,
    )


def test_the_new_heads_load_report_is_one_line_saying_it_is_expected():
    # As the train stage loads it (pipeline/modeling.py: load_classifier).
    done = run(
        f"from textclf.pipeline.modeling import load_classifier\nload_classifier({BASE!r}, ['ham', 'spam'])\n"
    )

    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "LOAD REPORT" not in done.stderr and "| MISSING" not in done.stderr, done.stderr
    assert lines == [
        "[transformers] BertForSequenceClassification: a new classification head for data.labels "
        "(classifier.bias, classifier.weight), trained by this stage; transformers' load report lists "
        "it as MISSING from the base model: expected, not an error"
    ]


def test_a_base_that_is_already_a_classifier_for_other_labels_gets_the_line_too(tmp_path):
    # A classifier of three classes as the base of a two-class task: its head is replaced (MISMATCH).
    code = (
        "from pathlib import Path\n"
        "from textclf.pipeline.small_bert import build_small_bert\n"
        "from textclf.pipeline.modeling import load_classifier\n"
        f"base = build_small_bert(Path({str(tmp_path / 'base')!r}), ['a', 'b', 'c'])\n"
        "load_classifier(str(base), ['ham', 'spam'])\n"
    )
    done = run(code)

    assert done.returncode == 0, done.stderr
    assert "LOAD REPORT" not in done.stderr, done.stderr
    assert "a new classification head for data.labels (classifier.bias, classifier.weight)" in done.stderr
    assert "lists it as MISMATCH" in done.stderr


def test_a_report_on_anything_but_the_head_stays_whole():
    code = (
        "from transformers import modeling_utils\n"
        "from transformers.utils.loading_report import LoadStateDictInfo, log_state_dict_report\n"
        "class BertForSequenceClassification: pass\n"
        "info = LoadStateDictInfo(\n"
        "    missing_keys={'classifier.weight', 'bert.encoder.layer.0.attention.self.query.weight'},\n"
        "    unexpected_keys=set(), mismatched_keys=set(), error_msgs=[], conversion_errors={},\n"
        "    skipped_pp_keys=set())\n"
        "log_state_dict_report(BertForSequenceClassification(), 'a-model', True, info,\n"
        "                      logger=modeling_utils.logger)\n"
    )
    done = run(code)

    assert done.returncode == 0, done.stderr
    assert "[transformers] BertForSequenceClassification LOAD REPORT from: a-model" in done.stderr
    assert "bert.encoder.layer.0.attention.self.query.weight | MISSING" in done.stderr
    assert "expected" not in done.stderr


def test_under_train_job_the_line_is_folded_within_100_columns_and_stdout_is_not():
    # The SageMaker job's log: `textclf train-job` as the training image runs it, with the base
    # model loaded as training loads it; the run's facts stay one JSON line on standard output
    # (the SageMaker backend reads them from the log: training/sagemaker.py).
    facts = {"global_step": 1, "onnx_export": {"served": {"reason": "x" * 120}}}
    done = run(
        "import json\n"
        "from textclf.pipeline import modeling, train\n"
        "def job():\n"
        f"    modeling.load_classifier({BASE!r}, ['ham', 'spam'])\n"
        f"    print(json.dumps({facts!r}), flush=True)\n"
        "train.main_job = job\n"
        "cli.main(['train-job'])\n",
        log_setup="",  # the command sets its logs up itself
    )

    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(len(line) <= 100 for line in lines), lines
    assert all(line.startswith("[transformers] ") for line in lines), lines
    said = " ".join(line.removeprefix("[transformers] ").strip() for line in lines)
    assert said == (
        "BertForSequenceClassification: a new classification head for data.labels "
        "(classifier.bias, classifier.weight), trained by this stage; transformers' load report lists "
        "it as MISSING from the base model: expected, not an error"
    )
    assert json.loads(done.stdout) == facts
