"""Shared fixtures: the local cloud, a tiny model for fast plumbing tests, the repository root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LABELS = ["billing", "delivery", "returns"]
# The model folder the train stage writes (either backend) and model.tar.gz carries.
MODEL_FOLDER_FILES = (
    *("config.json", "model.safetensors", "tokenizer.json"),
    *("labels.json", "training_history.json"),
)

# Never reach for the hub in tests: the default model ships in an installed package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

# `make test` runs two pytest-xdist workers (mk/test.mk). The release loop's rehearsal (tests/e2e,
# about 12 of the suite's 28 serial minutes, mostly waiting on act's jobs) goes to one worker, every
# other test to the other in collection order, as a single worker would run them; one long test
# with fixtures of its own (a Terraform apply, plan and destroy) is left for whichever worker is free
# first, to even the two out. (xdist's `--dist loadgroup` marks do not reach its scheduler under
# pytest 9, whose items keep their id elsewhere: hence a scheduler of our own.)
SCOPES = {
    "tests/e2e/": "rehearsal",
    "tests/infra/test_localcloud_apply.py": "terraform apply and destroy",
}


def xdist_scope(nodeid: str) -> str:
    return next((scope for prefix, scope in SCOPES.items() if nodeid.startswith(prefix)), "suite")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class RehearsalBesideTheSuite(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return RehearsalBesideTheSuite(config, log)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def local_cloud():
    """One moto server on 127.0.0.1 for the session; stopped at the end."""
    from textclf.localcloud import LocalCloud

    cloud = LocalCloud().start()
    yield cloud
    cloud.stop()


@pytest.fixture
def aws_env(local_cloud, monkeypatch):
    """A clean local cloud and the environment that points boto3, DVC and Terraform at it."""
    local_cloud.reset()
    for key, value in local_cloud.env().items():
        monkeypatch.setenv(key, value)
    return local_cloud.env()


def build_tiny_model(folder: Path, labels: list[str] = LABELS) -> Path:
    """A randomly initialised 2-layer BERT with the default model's vocabulary, saved like the
    train stage saves a model, ONNX graphs included. Right for plumbing tests; useless for quality
    assertions."""
    from transformers import BertForSequenceClassification

    from textclf.pipeline.export import export_fp32, export_int8
    from textclf.pipeline.small_bert import build_small_bert

    build_small_bert(folder, labels)
    (folder / "labels.json").write_text(json.dumps({"labels": labels}), encoding="utf-8")
    export_fp32(BertForSequenceClassification.from_pretrained(folder), folder / "model.onnx")
    export_int8(folder / "model.onnx", folder / "model.int8.onnx")
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
