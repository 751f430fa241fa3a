"""A by-hand publish files the workspace's model under a commit of this repository that is its
clean HEAD (issue 27, round 6, F3: `textclf publish --commit 2222...` filed the model, write-once,
under a commit the repository does not have). CI's publish goes through the training-run function
(textclf.training.stop_job), which checks the run's commit itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.release.evaluation import write_evaluation, write_params

from textclf.config import AwsParams
from textclf.release import promote


class Untouchable:
    def __getattr__(self, name: str):
        raise AssertionError(f"publish called S3's {name} before refusing")


def git(repo: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    """A checkout with two commits, its pipeline's model and passing evaluation (untracked, as DVC
    outputs are); the current folder."""
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "Tester")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "tester@example.com")
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "params.yaml").write_text("train: {}\n", encoding="utf-8")
    git(tmp_path, "add", "params.yaml")
    git(tmp_path, "commit", "-q", "-m", "first")
    write_params(tmp_path, ["a", "b"])  # publish judges the metrics again with the commit's params.yaml
    git(tmp_path, "commit", "-q", "-am", "second")
    model = tmp_path / promote.MODEL_DIR
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    (model / "labels.json").write_text('{"labels": ["a", "b"]}', encoding="utf-8")
    (model / "tokenizer.json").write_text("{}", encoding="utf-8")
    (model / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    (model / "model.onnx").write_bytes(b"graph")
    metrics = tmp_path / promote.METRICS_FILE
    metrics.parent.mkdir()
    write_evaluation(model, metrics)  # and the evaluate stage's verdict beside it
    monkeypatch.chdir(tmp_path)
    return tmp_path


def publish(commit: str) -> None:
    """`textclf publish --commit <commit>` (cli.cmd_publish): the workspace's folder and metrics."""
    promote.publish(commit, AwsParams(), s3=Untouchable())


def test_the_clean_head_is_published(workspace: Path) -> None:
    with pytest.raises(AssertionError, match="publish called S3"):
        publish(git(workspace, "rev-parse", "HEAD"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commit=st.text("0123456789abcdef", min_size=40, max_size=40))
def test_a_commit_the_repository_lacks_is_refused(workspace: Path, commit: str) -> None:
    with pytest.raises(promote.ReleaseError) as refused:
        publish(commit)
    message = str(refused.value)
    assert f"commit {commit} is not in this repository" in message, message
    assert "git rev-parse HEAD" in message, message


@pytest.mark.parametrize(("kind", "ref"), [("blob", "HEAD:params.yaml"), ("tree", "HEAD^{tree}")])
def test_an_object_that_is_not_a_commit_is_named_for_what_it_is(workspace: Path, kind: str, ref: str) -> None:
    """Round 7, U-5: a blob or tree sha of this repository was reported as not in it."""
    sha = git(workspace, "rev-parse", ref)
    with pytest.raises(promote.ReleaseError) as refused:
        publish(sha)
    message = str(refused.value)
    assert message.startswith(f"{sha} is a {kind} of this repository, not a commit"), message
    assert "git rev-parse HEAD" in message, message


def test_a_commit_other_than_head_is_refused(workspace: Path) -> None:
    parent = git(workspace, "rev-parse", "HEAD~1")
    with pytest.raises(promote.ReleaseError, match=f"commit {parent} is not the checked-out HEAD"):
        publish(parent)


def test_head_with_changed_tracked_files_is_refused(workspace: Path) -> None:
    (workspace / "params.yaml").write_text("train: {epochs: 3}\n", encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match=r"changes to tracked files \(params\.yaml\)"):
        publish(git(workspace, "rev-parse", "HEAD"))


def test_outside_a_repository_the_commit_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(promote.ReleaseError, match="is not in this repository"):
        promote.check_workspace_commit("2" * 40)
