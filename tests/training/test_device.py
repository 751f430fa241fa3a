"""The training program on a GPU instance where torch sees no GPU: it fails at once, naming the
cause, instead of training on the CPU at GPU prices. A real `textclf train-job` process, with the
SageMaker container contract (SM_* paths, resourceconfig.json) in a work folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from textclf.pipeline import train


def job_env(root: Path) -> dict[str, str]:
    config = root / "input/config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text("{}", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "SM_CURRENT_INSTANCE_TYPE"}
    return {
        **env,
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_CHANNEL_TRAIN": str(root / "input/data/train"),
        "SM_CHANNEL_VALIDATION": str(root / "input/data/validation"),
        "SM_MODEL_DIR": str(root / "model"),
        "SM_CHECKPOINT_DIR": str(root / "checkpoints"),
        "SM_OUTPUT_DIR": str(root / "output"),
        "CUDA_VISIBLE_DEVICES": "",  # whatever this machine has, torch sees no GPU
    }


@pytest.mark.parametrize("source", ["resourceconfig", "environment"])
def test_a_gpu_instance_without_a_visible_gpu_fails_naming_the_cause(tmp_path, source):
    env = job_env(tmp_path)
    if source == "resourceconfig":  # what SageMaker writes into every training container
        resource = {"current_host": "algo-1", "hosts": ["algo-1"], "current_instance_type": "ml.g5.xlarge"}
        (tmp_path / "input/config/resourceconfig.json").write_text(json.dumps(resource), encoding="utf-8")
    else:
        env["SM_CURRENT_INSTANCE_TYPE"] = "ml.g5.xlarge"

    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "train-job"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    failure = (tmp_path / "output/failure").read_text(encoding="utf-8")  # SageMaker's FailureReason
    assert "ml.g5.xlarge has an NVIDIA GPU but torch sees none" in failure
    assert "NVIDIA_VISIBLE_DEVICES" in failure and "Traceback" not in done.stderr
    assert not (tmp_path / "model").exists() or not any((tmp_path / "model").iterdir())


@pytest.mark.parametrize(
    ("instance_type", "cuda", "refused"),
    [("ml.g4dn.xlarge", False, True), ("ml.p4d.24xlarge", False, True), ("ml.g5.xlarge", True, False),
     ("ml.m5.xlarge", False, False), ("ml.c5.2xlarge", False, False), (None, False, False)],
)  # fmt: skip
def test_only_gpu_families_need_a_visible_gpu(instance_type, cuda, refused):
    if refused:
        with pytest.raises(RuntimeError, match=f"{instance_type} has an NVIDIA GPU"):
            train.check_accelerator(instance_type, cuda)
    else:
        train.check_accelerator(instance_type, cuda)


def test_the_training_image_asks_for_the_gpu_and_pins_a_cuda_12_build():
    """The NVIDIA runtime mounts the GPU only when asked, and PyPI's default torch wheel follows
    torch's CUDA (13 needs driver 580): the image pins a CUDA 12 build, with its source cited."""
    text = (Path(__file__).resolve().parents[2] / "docker/train.Dockerfile").read_text(encoding="utf-8")
    assert "NVIDIA_VISIBLE_DEVICES=all" in text
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in text
    (cuda,) = re.findall(r"^ARG TORCH_CUDA=(cu\d+)$", text, re.M)
    assert cuda.startswith("cu12"), cuda
    assert '--index-url "https://download.pytorch.org/whl/${TORCH_CUDA}"' in text
    assert '"torch==${torch_version}+${TORCH_CUDA}"' in text  # never a wheel that pip picks
    assert "assert torch.version.cuda" in text  # the build fails on a CPU-only torch
    assert "docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html" in text
