"""The train stage on SIGTERM outside the Trainer's loop (R14A-2): before training it died silently
and left a models/.model.* staging folder per run; after training (the ONNX export) the signal was
swallowed, and the stage ran on to install the model and exit 0. Now it stops where it is, says so,
exits 143 and installs nothing. The evaluate stage says "interrupted" instead of dying silently."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import textclf
from tests.model.conftest import make_project

SRC = Path(textclf.__file__).resolve().parents[1]

# `textclf train` with a SIGTERM sent to itself at `where` (a function of textclf.pipeline.train that
# the stage calls: train_model before training, _export_graphs after it).
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from textclf.pipeline import train
    real = getattr(train, sys.argv[1])

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler runs here
        return real(*args, **kwargs)

    setattr(train, sys.argv[1], signalled)
    from textclf import cli
    sys.exit(cli.main(["train"]))
    """
)


def train_signalled(project: Path, where: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, where],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.parametrize("where", ["train_model", "_export_graphs"], ids=["before-training", "during-export"])
def test_sigterm_outside_the_loop_stops_with_a_message_and_installs_nothing(tmp_path, tiny_model_dir, where):
    project = make_project(tmp_path / "project", str(tiny_model_dir))

    done = train_signalled(project, where)

    assert done.returncode == 143, (done.returncode, done.stderr[-2000:])
    assert "terminated (SIGTERM): nothing was installed" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not (project / "metrics/train.json").exists()
    models = project / "models"
    assert not models.exists() or not list(models.iterdir()), list(models.iterdir())  # no model, no staging


def test_evaluate_says_interrupted_on_sigterm(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "project", str(tiny_model_dir))
    script = textwrap.dedent(
        """
        import os, signal, sys, time
        from textclf.pipeline import evaluate

        def signalled(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)

        evaluate.run = signalled
        from textclf import cli
        sys.exit(cli.main(["evaluate"]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=project, capture_output=True, text=True, env=env, timeout=300
    )

    assert done.returncode == 130, (done.returncode, done.stderr[-2000:])
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr
