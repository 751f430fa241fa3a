"""The sagemaker train backend and `python -m textclf.training.sagemaker stop-run-job | publish-run-job`
(make stop-training, make publish) make their AWS clients through the shared guard
(textclf.awsclient): an AWS setting of the environment boto3 cannot use is one line naming it,
exit 2, not botocore's ProfileNotFound or ValueError traceback (issue 27, round 8, T-g)."""

from __future__ import annotations

import pytest

from tests.release.test_aws_settings import BAD, keys  # noqa: F401 (the settings, and AWS keys without them)
from tests.training.conftest import Lines, write_params
from textclf.config import TRAIN_JOB_FILE
from textclf.pipeline.train import Hyperparameters
from textclf.training import sagemaker


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(("name", "value"), BAD)
def test_the_backend_names_the_setting_before_anything_else(
    project, monkeypatch, name: str, value: str
) -> None:
    params = write_params(project)
    monkeypatch.setenv(name, value)
    with pytest.raises(sagemaker.SageMakerError) as refused:
        sagemaker.preflight(params)
    assert f"{name}={value!r}" in str(refused.value), refused.value
    staging = project / "staging"
    staging.mkdir()
    lines = Lines()
    with pytest.raises(sagemaker.SageMakerError, match=f"{name}="):
        sagemaker.run(params, Hyperparameters.from_params(params), staging, lines)
    assert not lines and not list(staging.iterdir())


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("command", ["stop-run-job", "publish-run-job"])
@pytest.mark.parametrize(("name", "value"), BAD)
def test_the_workflow_steps_answer_in_one_line(project, monkeypatch, capsys, command, name, value) -> None:
    write_params(project)
    (project / "build" / "publish").mkdir(parents=True)
    (project / "build" / "publish" / "metrics.json").write_text("{}", encoding="utf-8")
    (project / TRAIN_JOB_FILE).parent.mkdir(exist_ok=True)
    (project / TRAIN_JOB_FILE).write_text(
        '{"backend": "sagemaker", "job_name": "textclf-89abcdef-run1-1"}', encoding="utf-8"
    )
    monkeypatch.setenv("GITHUB_RUN_ID", "1")
    monkeypatch.setenv("TEXTCLF_STOP_TRAINING_FUNCTION", "textclf-prod-training-run")
    monkeypatch.setenv(name, value)
    assert sagemaker.main([command]) == 2
    err = capsys.readouterr().err
    assert f"{name}={value!r}" in err and "Traceback" not in err, err
