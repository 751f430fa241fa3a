"""SageMaker runs the training and serving images as root, and a training container writes host
volumes owned by root: the Dockerfiles end as root (hadolint's non-root rule ignored, with the
documentation's reason), and the local runner fails a job whose image runs as another user, as
SageMaker would."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from textclf.training.local_runner import JobSpec, LocalTrainingJob, final_user, runs_as_root

REPO_ROOT = Path(__file__).resolve().parents[2]
SAGEMAKER_IMAGES = ["docker/train.Dockerfile", "docker/serve.Dockerfile"]
REASON = "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html"


@pytest.mark.parametrize("dockerfile", SAGEMAKER_IMAGES)
def test_the_sagemaker_images_run_as_root_with_the_documented_reason(dockerfile):
    lines = (REPO_ROOT / dockerfile).read_text(encoding="utf-8").splitlines()
    assert runs_as_root(final_user("\n".join(lines)))
    last_user = max(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert lines[last_user - 1] == "# hadolint ignore=DL3002"  # the linter's non-root rule, ignored here
    comment = "\n".join(lines[last_user - 12 : last_user])
    assert REASON in comment and "root" in comment


def test_final_user_reads_the_last_user_instruction():
    assert final_user("FROM x\nRUN true\n") is None and runs_as_root(None)
    assert final_user("FROM x\nUSER 10001:10001\nUSER 0:0\n") == "0:0"
    assert not runs_as_root(final_user("FROM x\nUSER root\nUSER 10001:10001\n"))
    assert runs_as_root("root") and not runs_as_root("textclf")


# The training program's first write: its model into SM_MODEL_DIR.
WRITE_MODEL = "import os; open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.bin'), 'w').write('x')"


def run(tmp_path: Path, image_user: str | None):
    spec = JobSpec(
        channels={}, hyperparameters={}, command=(sys.executable, "-c", WRITE_MODEL), image_user=image_user
    )
    lines: list[str] = []
    job = LocalTrainingJob(
        tmp_path / "work", spec, on_status=lambda s, m: None, on_log=lambda h, line: lines.append(line)
    )
    return job.run(), lines


def test_a_job_whose_image_runs_as_root_writes_its_model(tmp_path):
    image_user = final_user((REPO_ROOT / "docker/train.Dockerfile").read_text(encoding="utf-8"))

    outcome, _ = run(tmp_path, image_user)

    assert outcome.status == "Completed", outcome.failure_reason
    for volume in ("model", "checkpoints", "output"):
        mode = stat.S_IMODE((tmp_path / "work/algo-1" / volume).stat().st_mode)
        assert mode == 0o755, f"{volume}: {oct(mode)}"  # root's, as SageMaker mounts them


def test_a_job_whose_image_runs_as_another_user_cannot_write_the_volumes(tmp_path):
    outcome, lines = run(tmp_path, "10001:10001")

    assert outcome.status == "Failed"
    assert "PermissionError" in outcome.failure_reason and "model.bin" in outcome.failure_reason
    assert any("Permission denied" in line for line in lines)
    # The next attempt's instance starts from empty volumes again.
    assert run(tmp_path, None)[0].status == "Completed"
