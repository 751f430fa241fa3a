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

# `make test` runs pytest-xdist workers (mk/test.mk). Tests are sent in scopes, one per test
# folder, so the session fixtures a folder shares (a Terraform-applied account, trained models) are
# built once, on the worker that runs it. The release loop's rehearsal (tests/e2e, one test of 12 to
# 14 minutes on an idle machine) starts first on one worker; the other folders go, longest first,
# to whichever worker has drained its queue, so the workers finish close together. One long test with
# fixtures of its own (a Terraform apply, plan and destroy) is a scope by itself. (xdist's `--dist
# loadgroup` marks do not reach its scheduler under pytest 9, whose items keep their id elsewhere:
# hence a scheduler of our own.)
SCOPES = {"tests/infra/test_localcloud_apply.py": "tests/infra/test_localcloud_apply.py"}
# Longest first, by each scope's summed test time in a clean-clone `make test` (its junit report,
# 2026-12-07 19:03 UTC: e2e 1,091 s, training 456, iam 352, code 263, release 244, pipeline 207, the
# apply file 196, model 179, workflows 153, review 146, serving 142, bench 128, the rest of infra
# 118, batch 88, monitoring 44, data 41); a folder not listed goes after these. tests/code, 263 s in
# one scope, used to be handed out last and ran alone on one worker for the run's last two minutes.
LONGEST_FIRST = (
    *("tests/e2e", "tests/training", "tests/iam", "tests/code", "tests/release", "tests/pipeline"),
    *("tests/infra/test_localcloud_apply.py", "tests/model", "tests/workflows", "tests/review"),
    *("tests/serving", "tests/bench", "tests/infra", "tests/batch", "tests/monitoring", "tests/data"),
)


def xdist_scope(nodeid: str) -> str:
    special = next((scope for prefix, scope in SCOPES.items() if nodeid.startswith(prefix)), None)
    return special or "/".join(nodeid.split("/")[:2])


def scope_rank(scope: str) -> int:
    return LONGEST_FIRST.index(scope) if scope in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class LongestFolderFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

        def _assign_work_unit(self, node: object) -> None:
            # xdist hands out the queue's first scope; put the longest one waiting there.
            self.workqueue.move_to_end(min(self.workqueue, key=scope_rank), last=False)
            super()._assign_work_unit(node)

    return LongestFolderFirst(config, log)


# `make test` runs one worker more than the machine has cores (mk/test.mk): the rehearsal and the
# Terraform tests spend minutes waiting (the AWS provider's fixed waits, bake windows), and a third
# worker fills those gaps. The rehearsal is the longest test and one sequence, so the run ends no
# sooner than it does: the other workers yield the CPU to it (a higher nice value, which their
# child processes inherit), and take it whenever the rehearsal waits.
NICE_BESIDE_THE_REHEARSAL = 5


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    beside_the_rehearsal = "PYTEST_XDIST_WORKER" in os.environ and xdist_scope(item.nodeid) != "tests/e2e"
    if beside_the_rehearsal and os.getpriority(os.PRIO_PROCESS, 0) < NICE_BESIDE_THE_REHEARSAL:
        os.setpriority(os.PRIO_PROCESS, 0, NICE_BESIDE_THE_REHEARSAL)


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
