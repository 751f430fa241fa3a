"""Real git histories for the gate and the report, built with real git and DVC.

Both are built once per session. `history`: `main` holds a trained model's metrics; branch `pr`
(checked out) changes params (train.epochs, a threshold) and the data (more rows, a new class
`warranty`) and holds the new model's metrics. `first_history`: `main` has no metrics at all, as
before the first PR ever. Each test gets the branch as committed (`git checkout -- .`) as its
working directory, so a test may change files freely.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from textclf.pipeline.evaluate import score
from textclf.review import freshness

LABELS = ["billing", "delivery", "returns"]
BUCKET = "textclf-test-artifacts"
# The gate's knobs for these tests, whatever the template's params.yaml says.
EVALUATE = {
    "batch_size": 64,
    "thresholds": {"accuracy": 0.85, "macro_f1": 0.85, "min_class_recall": 0.70},
    "main_metric": "macro_f1",
    "champion_tolerance": 0.01,
}


def eval_metrics(outcomes: dict[str, dict[str, int]]) -> dict[str, Any]:
    """metrics/eval.json as the evaluate stage writes it, from {actual: {predicted: count}}: the
    figures of a served fp32 graph (`graph`, and `graphs` with its test figures)."""
    actual, predicted = [], []
    for truth, row in outcomes.items():
        for guess, count in row.items():
            actual += [truth] * count
            predicted += [guess] * count
    scores = score(actual, predicted, list(outcomes))
    graph = {
        "file": "model.onnx",
        "quantize": "none",
        "sha256": hashlib.sha256(repr(outcomes).encode()).hexdigest(),
    }
    figures = {key: scores[key] for key in ("accuracy", "macro_f1")}
    lowest = min(scores["per_class"][label]["recall"] for label in outcomes)
    served = {**graph, "served": True, **figures, "min_class_recall": lowest, "agreement_with_served": 1.0}
    return {**scores, "graph": graph, "graphs": {"none": served}}


def data_metrics(classes: dict[str, tuple[int, int, int]], duplicates: int = 0) -> dict[str, Any]:
    """metrics/data.json as the prepare stage writes it, from {label: (train, validation, test)}."""
    splits = ("train", "validation", "test")
    per_split = {
        split: {label: counts[i] for label, counts in classes.items()} for i, split in enumerate(splits)
    }
    rows = {split: sum(per_split[split].values()) for split in splits}
    return {
        "rows": {"raw": sum(rows.values()) + duplicates, **rows},
        "dropped": {"empty_text": 0, "duplicate": duplicates, "conflicting_labels": 0},
        "classes": per_split,
        "text_chars": {"p5": 50.0, "p50": 90.0, "p95": 140.0, "max": 190.0},
    }


def local_job(wall_seconds: float) -> dict[str, Any]:
    return {
        "resumed_from_step": 0,
        "train_seconds": round(wall_seconds * 0.9, 1),
        "train_samples_per_second": 28.21,
        "backend": "local",
        "wall_seconds": wall_seconds,
        "peak_rss_mb": 1155.8,
        "hardware": {
            "platform": "Linux-6.1-x86_64-with-glibc2.36",
            "processor": "x86_64",
            "cpu_count": 2,
            "torch_threads": 2,
            "accelerator": None,
        },
    }


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


MAIN_EVAL = eval_metrics(
    {
        "billing": {"billing": 18, "returns": 2},
        "delivery": {"delivery": 20},
        "returns": {"returns": 17, "billing": 3},
    }
)
PR_EVAL = eval_metrics(
    {
        "billing": {"billing": 19, "returns": 1},
        "delivery": {"delivery": 20},
        "returns": {"returns": 18, "billing": 2},
        "warranty": {"warranty": 16, "returns": 4},
    }
)
MAIN_DATA = data_metrics({"billing": (70, 15, 20), "delivery": (70, 15, 20), "returns": (70, 15, 20)}, 3)
PR_DATA = data_metrics(
    {"billing": (84, 18, 20), "delivery": (70, 15, 20), "returns": (70, 15, 20), "warranty": (70, 15, 20)}, 5
)


@dataclass
class Project:
    root: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def write_json(self, relative: str, payload: Any) -> None:
        # allow_nan: the evaluate stage can write NaN, and DVC reads it.
        self.write(relative, json.dumps(payload, indent=2, allow_nan=True) + "\n")

    def params(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / "params.yaml").read_text(encoding="utf-8"))

    def write_params(self, params: dict[str, Any]) -> None:
        self.write("params.yaml", yaml.safe_dump(params, sort_keys=False))

    def write_outputs(self, evaluation: dict, data: dict, steps: int, final_loss: float) -> None:
        """The metrics and plots a pipeline run leaves behind."""
        self.write_json("metrics/eval.json", evaluation)
        self.write_json("metrics/data.json", data)
        self.write_json(
            "metrics/train.json",
            {"train_loss": final_loss, "validation_accuracy": evaluation["accuracy"], "global_step": steps},
        )
        self.write_json("reports/train_job.json", local_job(150.5))
        losses = [
            [step, round(1.8 - (1.8 - final_loss) * step / steps, 4)] for step in range(10, steps + 1, 10)
        ]
        self.write("plots/train_loss.csv", csv_text(["step", "loss"], losses))
        validation = [
            [
                step,
                1.5 - step / steps,
                evaluation["accuracy"] - 0.1 + 0.1 * step / steps,
                evaluation["macro_f1"],
            ]
            for step in range(20, steps + 1, 20)
        ]
        self.write("plots/validation.csv", csv_text(["step", "loss", "accuracy", "macro_f1"], validation))

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


def new_project(root: Path, repo_root: Path) -> Project:
    """A git repository with DVC, the template's dvc.yaml and params.yaml (gate knobs pinned)."""
    project = Project(root)
    root.mkdir(parents=True)
    project.git("init", "-q", "-b", "main")
    project.git("config", "user.email", "ci@example.com")
    project.git("config", "user.name", "CI")
    project.git("config", "commit.gpgsign", "false")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True, capture_output=True)
    project.write("dvc.yaml", (repo_root / "dvc.yaml").read_text(encoding="utf-8"))
    params = yaml.safe_load((repo_root / "params.yaml").read_text(encoding="utf-8"))
    params["evaluate"] = EVALUATE
    params["data"]["labels"] = LABELS  # the classes of MAIN_EVAL: the gate checks eval.json against them
    project.write_params(params)
    return project


def branch_from_main(
    root: Path,
    repo_root: Path,
    main_message: str,
    branch: str,
    edit_params: Callable[[dict[str, Any]], None],
    outputs: tuple[dict[str, Any], dict[str, Any], int, float],
    message: str,
) -> Project:
    """main with MAIN_EVAL's model committed, then `branch` checked out with its params edited and
    `outputs` (evaluation, data, steps, final loss) committed: a pull request's workspace."""
    project = new_project(root, repo_root)
    project.write_outputs(MAIN_EVAL, MAIN_DATA, steps=200, final_loss=0.31)
    project.commit(main_message)
    project.git("checkout", "-q", "-b", branch)
    params = project.params()
    edit_params(params)
    project.write_params(params)
    evaluation, data, steps, final_loss = outputs
    project.write_outputs(evaluation, data, steps=steps, final_loss=final_loss)
    project.commit(message)
    return project


def _three_epochs_stricter_recall(params: dict[str, Any]) -> None:
    params["data"]["labels"] = [*LABELS, "warranty"]
    params["train"]["epochs"] = 3
    params["evaluate"]["thresholds"]["min_class_recall"] = 0.75


@pytest.fixture(scope="session")
def history(tmp_path_factory, repo_root) -> Project:
    return branch_from_main(
        tmp_path_factory.mktemp("history") / "repo",
        repo_root,
        "main: model trained on the first data",
        "pr",
        _three_epochs_stricter_recall,
        (PR_EVAL, PR_DATA, 300, 0.22),
        "pr: new class warranty, more billing data, 3 epochs",
    )


@pytest.fixture(scope="session")
def first_history(tmp_path_factory, repo_root) -> Project:
    project = new_project(tmp_path_factory.mktemp("first") / "repo", repo_root)
    project.commit("main: the template, nothing trained yet")
    project.git("checkout", "-q", "-b", "first-model")
    project.write_outputs(MAIN_EVAL, MAIN_DATA, steps=200, final_loss=0.31)
    project.commit("first-model: train the first model")
    return project


def pipeline_ran(project: Project) -> None:
    """The project's DVC state as a pipeline run leaves it: every dependency and output of dvc.yaml's
    stages in place (a placeholder where the test wrote none: a folder for a path without a suffix)
    and dvc.lock recording them (`dvc commit --force`: what is there, nothing run). `dvc status` then
    says "up to date", as after `make repro`."""
    stages = yaml.safe_load((project.root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for stage in stages.values():
        for entry in [*stage.get("deps", []), *stage.get("outs", []), *stage.get("metrics", [])]:
            path = project.root / (entry if isinstance(entry, str) else next(iter(entry)))
            if path.exists():
                continue
            if path.suffix:
                project.write(str(path.relative_to(project.root)), "placeholder\n")
            else:
                project.write(str(path.relative_to(project.root) / "placeholder.txt"), "placeholder\n")
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "commit", "--force", "--quiet"],
        cwd=project.root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def enter(project: Project, monkeypatch) -> Project:
    """The committed branch as the working directory, with no CI or AWS settings leaking in.

    These projects' metrics are written by the tests, not by a DVC run (no dvc.lock): the gate's and
    the summary's check that metrics/eval.json is what the pipeline would write now
    (textclf.review.freshness) is left out here; tests/review/test_freshness.py tests it on projects
    whose DVC state a run would leave (pipeline_ran)."""
    project.git("checkout", "-q", "--", ".")
    project.git("clean", "-fdq")
    monkeypatch.chdir(project.root)
    monkeypatch.setattr(freshness, "check", lambda: None)
    for key in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"):
        monkeypatch.delenv(key, raising=False)
    for key in ("TEXTCLF_AWS_REGION", "TEXTCLF_DATA_BUCKET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TEXTCLF_ARTIFACTS_BUCKET", BUCKET)
    return project


@pytest.fixture
def pr_repo(history, monkeypatch) -> Project:
    return enter(history, monkeypatch)


@pytest.fixture
def first_repo(first_history, monkeypatch) -> Project:
    return enter(first_history, monkeypatch)


@pytest.fixture
def no_aws(monkeypatch, tmp_path) -> None:
    """A machine with no AWS credentials anywhere (a laptop without an AWS account)."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)


@pytest.fixture
def bucket(aws_env) -> str:
    """The artifacts bucket on the local cloud, empty: no release recorded yet."""
    import boto3

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


# ---------------------------------------------------------------------------------------------
# Reading the report back


def split_row(line: str) -> list[str]:
    """Cells of a GitHub table row: `|` splits unless escaped by a backslash (GFM's rule)."""
    cells, current, chars = [], "", iter(line.strip())
    for char in chars:
        if char == "\\":
            current += char + next(chars, "")
        elif char == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells[1:-1]  # a row starts and ends with a pipe


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table outside code fences, as rows of cells."""
    found, block, fenced = [], [], False
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("|"):
            block.append(split_row(line))
        elif block:
            found.append(block)
            block = []
    return found


def assert_valid_tables(markdown: str) -> None:
    """Each table has a separator row and the same number of cells in every row."""
    for rows in tables(markdown):
        assert len(rows) >= 2, rows
        assert all(set(cell) <= set("-:") and "-" in cell for cell in rows[1]), rows[1]
        widths = {len(row) for row in rows}
        assert widths == {len(rows[0])}, f"ragged table: widths {widths} in {rows[0]}"


def section(markdown: str, heading: str) -> str:
    """The text of the section whose heading starts with `heading`, up to the next heading."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and heading in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("### ")), len(lines))
    return "\n".join(lines[start:end])


def table_after(markdown: str, first_header: str) -> dict[str, list[str]]:
    """The table whose first header cell is `first_header`, as {first cell: the other cells}."""
    for rows in tables(markdown):
        if rows[0][0] == first_header:
            return {row[0]: row[1:] for row in rows[2:]}
    raise AssertionError(f"no table headed {first_header!r}")
