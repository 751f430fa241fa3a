"""Release by commit: publish the reviewed model at PR time, promote exactly that model at merge.

    s3://<artifacts bucket>/models/<commit>/
        model.tar.gz     the train stage's `models/model` folder (files at the archive root, as
                         SageMaker extracts it to /opt/ml/model)
        eval.json        its evaluation metrics (metrics/eval.json)
        gate.json        the evaluate stage's verdict, when present (metrics/gate.json)
        manifest.json    written last: commit, sha256 and size of model.tar.gz, time, and (published
                         by a pull request's run) `provenance`: the training job and its inputs. A
                         prefix without it is an unfinished publish and is never promoted.

`make publish` (PR workflow, after the gate passed) has that prefix written for the PR head commit:
the run's role may not write models/, so `stage_publish` (`python -m textclf.release.promote
stage-publish`) leaves the files beside the model in build/publish/, and the training backend's
`publish-run-job` uploads them to candidates/ and asks the training-run function
(textclf.training.stop_job), which verifies the run's token and merge commit, to copy its job's
model.tar.gz byte for byte and those files (sha256 checked) there, with the provenance.
`release-check` (`verify_archive`) refuses a model whose provenance does not show a job
of exactly that commit, on its data (dvc.lock's digest of data/prepared, which data.dvc feeds),
its params and the project's training image, with its own checkpoints. Without the function
configured (a person's own credentials), publish writes the folder's archive itself.
`promote` (release workflow) finds it for the merged PR's head commit, or fails naming the commit
before anything touches the endpoint; then invokes the redeploy Lambda, waits until the endpoint
serves the artifact, sends a smoke request, records the model's metrics as the champion
(`production/metrics.json`, see textclf.review.champion) and what was deployed
(`production/deployment.json`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textclf import atomic, awsclient
from textclf.config import TRAIN_JOB_FILE, AwsParams, Params
from textclf.interrupt import sigterm_as_interrupt
from textclf.verdict import is_pass, is_score, judge

ARTIFACT_PREFIX = "models/"
MODEL_ARCHIVE = "model.tar.gz"
METRICS_NAME = "eval.json"
GATE_NAME = "gate.json"
MANIFEST_NAME = "manifest.json"
DEPLOYMENT_KEY = "production/deployment.json"
MODEL_DIR = Path("models/model")
METRICS_FILE = Path("metrics/eval.json")
GATE_FILE = Path("metrics/gate.json")
# The evaluate stage's reference distributions of the test split (docs/monitoring.md).
REFERENCE_FILE = Path("metrics/reference.json")
# The test split with the label evaluate predicted for each text, published with the model so that
# the staging check replays exactly what the gate judged (textclf.release.staging), without the
# release job needing the data or the PR's DVC outputs. Its sha256 is in the manifest.
TEST_SPLIT_FILE = Path("data/prepared/test.jsonl")
PREDICTIONS_FILE = Path("plots/confusion.csv")
EVALUATED_NAME = "test_predictions.jsonl"
# The full verdict of `make gate` (thresholds and the champion), when it ran in this workspace.
FULL_GATE_FILE = Path("reports/gate.json")
# Where `stage_publish` leaves the files a pull request's run publishes beside its job's model.
PUBLISH_DIR = Path("build/publish")
# Files the train stage always writes into the model folder; without them nothing can serve it.
REQUIRED_MODEL_FILES = ("config.json", "labels.json")
SMOKE_TEXT = "Hello, my order has not arrived yet. Where is it?"


class ReleaseError(RuntimeError):
    """Publishing or promoting cannot go on; the message says what to fix."""


COMMIT = re.compile(r"[0-9a-f]{40}")


def check_commit(commit: str | None) -> str:
    """A full commit sha: models are published and released under the full 40-hex sha only, so a
    short one can never name two commits."""
    value = (commit or "").strip().lower()
    if not COMMIT.fullmatch(value):
        raise ReleaseError(
            f"commit {commit!r} is not a full git commit sha (40 hex digits); pass COMMIT=<sha> "
            "(the PR head commit that trained the model; `git rev-parse <ref>` prints it)"
        )
    return value


MAIN_REFS = ("refs/remotes/origin/main", "refs/heads/main")


def refuse_other_objects(sha: str, git: Callable[..., Any], what_to_pass: str) -> None:
    """A sha this repository holds as a tree, blob or tag is named as what it is, not as a commit
    missing from the history (fetching more history would never make it one)."""
    kind = git("cat-file", "-t", sha)
    if kind.returncode == 0 and kind.stdout.strip() != "commit":
        raise ReleaseError(
            f"{sha} is a {kind.stdout.strip()} of this repository, not a commit: {what_to_pass}"
        )


def check_merged(commit: str, main_ref: str | None = None, run: Callable[..., Any] = subprocess.run) -> str:
    """Only a commit that main contains may be released (a rollback by hand included): a model
    an unmerged pull request published never reaches production. Main is origin's main when the
    checkout has it, else the local main branch, never merely the checked-out HEAD."""
    commit = check_commit(commit)
    if main_ref is None:
        found = [
            ref
            for ref in MAIN_REFS
            if run(
                ["git", "rev-parse", "--verify", "--quiet", ref], capture_output=True, text=True
            ).returncode
            == 0
        ]
        if not found:
            raise ReleaseError(
                "this checkout has no main branch (origin/main or main): fetch it (actions/checkout with "
                "fetch-depth: 0) so a release can check the commit is on main"
            )
        main_ref = found[0]
    refuse_other_objects(
        commit,
        lambda *arguments: run(["git", *arguments], capture_output=True, text=True),
        "a release names the commit whose model it serves; pass a commit of main (git rev-parse main)",
    )
    known = run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, text=True)
    if known.returncode != 0:
        raise ReleaseError(
            f"commit {commit} is not in this checkout's history; fetch main's full history "
            "(actions/checkout with fetch-depth: 0) and pass a commit of main"
        )
    ancestor = run(["git", "merge-base", "--is-ancestor", commit, main_ref], capture_output=True, text=True)
    if ancestor.returncode != 0:
        raise ReleaseError(
            f"commit {commit} is not on main ({main_ref}): only a merged, reviewed commit's model may "
            "be released; merge its pull request first"
        )
    return commit


@dataclass(frozen=True)
class Artifact:
    """Where the model of one commit lives in the artifacts bucket."""

    bucket: str
    commit: str

    @property
    def prefix(self) -> str:
        return f"{ARTIFACT_PREFIX}{self.commit}/"

    def key(self, name: str) -> str:
        return self.prefix + name

    def url(self, name: str = MODEL_ARCHIVE) -> str:
        return f"s3://{self.bucket}/{self.key(name)}"


def log(message: str) -> None:
    print(f"[textclf] {message}", file=sys.stderr, flush=True)


def aws_client(service: str, aws: AwsParams, **config: Any) -> Any:
    """A boto3 client; a setting of the environment boto3 cannot use is a ReleaseError naming it
    (textclf.awsclient)."""
    try:
        return awsclient.aws_client(service, aws.region, **config)
    except awsclient.AwsSettingError as error:
        raise ReleaseError(str(error)) from None


@contextmanager
def aws_errors(step: str) -> Iterator[None]:
    """An AWS error (credentials, permissions, a missing resource) as a ReleaseError naming the step."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise ReleaseError(f"{step}: {error}") from None


def _missing(error: Exception) -> bool:
    # A BotoCoreError (a connection closed unanswered, a timeout) has no answer: `response` is absent
    # or None there, and the error is "cannot read", not "does not exist" (R13B-29).
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
    return code in {"404", "NoSuchKey", "NotFound"}


# ---------------------------------------------------------------------------------------------
# Publish (PR workflow)


def check_model_folder(model_dir: Path) -> None:
    problems = [name for name in REQUIRED_MODEL_FILES if not (model_dir / name).is_file()]
    if not model_dir.is_dir() or problems:
        raise ReleaseError(
            f"{model_dir}: not a trained model folder (missing {', '.join(problems) or 'the folder'}); "
            "run the pipeline first (dvc repro)"
        )


# The most a model folder may hold: a Serverless endpoint has at most 6 GiB of memory
# (ProductionVariantServerlessConfig MemorySizeInMB 1024-6144), which the loaded model must fit in.
MAX_MODEL_BYTES = 6 * 2**30


def pack_model(model_dir: Path, archive: Path) -> None:
    """model.tar.gz with the folder's files at the archive root, in a stable order."""
    check_model_folder(model_dir)
    import gzip

    links = sorted(str(p) for p in model_dir.rglob("*") if p.is_symlink())
    if links:
        raise ReleaseError(
            f"{model_dir}: symbolic links {', '.join(links[:5])}: "
            "a published model holds its own files only (a link could pack any file of this machine); "
            "replace the link by the file, or run the pipeline again (dvc repro)"
        )

    special = sorted(str(p) for p in model_dir.rglob("*") if not (p.is_file() or p.is_dir()))
    if special:
        raise ReleaseError(
            f"{model_dir}: {', '.join(special[:5])} are neither files nor folders (a pipe, socket or "
            "device): a published model holds regular files only; remove them, or run the pipeline "
            "again (dvc repro)"
        )

    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    size = sum(path.stat().st_size for path in files)
    if size > MAX_MODEL_BYTES:
        largest = sorted(files, key=lambda path: path.stat().st_size, reverse=True)[:3]
        named = ", ".join(f"{path} ({path.stat().st_size / 2**30:.1f} GiB)" for path in largest)
        raise ReleaseError(
            f"{model_dir}: {size / 2**30:.1f} GiB of files, more than the {MAX_MODEL_BYTES // 2**30} GiB "
            f"a published model may hold (the largest: {named}): the endpoint loads the model into at "
            "most 6 GiB of memory (deploy.serverless.memory_mb); remove what the model does not need, "
            "or run the pipeline again (dvc repro). Nothing was packed"
        )

    def owner_free(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    # The same folder packs to the same bytes (no gzip timestamp, no owner), so publishing it
    # again is recognised as the same model by its sha256.
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        for path in files:
            arcname = path.relative_to(model_dir).as_posix()
            tar.add(path, arcname=arcname, recursive=False, filter=owner_free)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_file(path: Path, what: str) -> dict[str, Any]:
    hint = f"run the pipeline first (dvc repro) to write {what}"
    return atomic.read_json_object(path, ReleaseError, hint, f" ({what})")


def publish(
    commit: str,
    aws: AwsParams,
    model_dir: Path | None = None,
    metrics_file: Path = METRICS_FILE,
    gate_file: Path = GATE_FILE,
    s3: Any = None,
    test_split_file: Path = TEST_SPLIT_FILE,
    params: Params | None = None,
) -> dict[str, Any]:
    """Upload the model and its metrics under models/<commit>/ with the caller's own credentials
    (a person's; a pull request's role may not write models/: its run publishes through the
    training-run function, `make publish`); the manifest goes last. Without `model_dir` (`textclf
    publish`) the workspace's models/model, which the pipeline wrote from the checked-out commit:
    the commit must then be the clean HEAD (filed under another, it would stay there: write-once).
    The model is judged again with `params` (None: the workspace's params.yaml, the commit's when the
    workspace is its clean HEAD): passing_evaluation."""
    artifact = Artifact(aws.published_models, check_commit(commit))
    if model_dir is None:
        model_dir = MODEL_DIR
        check_workspace_commit(artifact.commit)
    metrics, evaluated = passing_evaluation(metrics_file, gate_file, test_split_file, params)
    check_evaluated_model(model_dir, metrics, metrics_file)
    s3 = s3 or aws_client("s3", aws)
    # SIGTERM and SIGHUP (a cancelled run, `timeout`) unwind as Ctrl-C does, so the temporary folder
    # with a half-written archive is removed; the manifest goes last, so nothing half is published.
    with sigterm_as_interrupt(), aws_errors(f"publish to {artifact.url('')}"):
        return _upload(s3, artifact, model_dir, metrics, gate_file, evaluated)


def check_workspace_commit(commit: str, run: Callable[..., Any] = subprocess.run) -> str:
    """A by-hand publish files the workspace's model under `commit`: the commit must exist in this
    repository and be its HEAD, with no tracked file changed, or the model is not that commit's."""

    def git(*arguments: str) -> subprocess.CompletedProcess:
        try:
            return run(["git", *arguments], capture_output=True, text=True)
        except OSError as error:
            raise ReleaseError(
                f"git cannot be run ({error.strerror}); publish from the project's checkout"
            ) from None

    commit = check_commit(commit)
    refuse_other_objects(
        commit,
        git,
        "a model is filed under the commit it was trained from; pass that commit (git rev-parse HEAD)",
    )
    if git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise ReleaseError(
            f"commit {commit} is not in this repository: the model would be filed for ever under a commit "
            "nobody can check out; pass the commit the model was trained from (git rev-parse HEAD)"
        )
    head = git("rev-parse", "--verify", "HEAD^{commit}")
    if head.returncode != 0 or head.stdout.strip() != commit:
        raise ReleaseError(
            f"commit {commit} is not the checked-out HEAD ({head.stdout.strip() or 'none'}): the workspace's "
            f"{MODEL_DIR} was trained from HEAD; check out {commit}, run the pipeline (dvc repro) and "
            "publish again, or publish HEAD"
        )
    changed = git("status", "--porcelain", "--untracked-files=no")
    if changed.returncode != 0 or changed.stdout.strip():
        files = ", ".join(line[3:] for line in changed.stdout.splitlines()[:5]) or changed.stderr.strip()
        raise ReleaseError(
            f"the working tree has changes to tracked files ({files}): the model may not be commit "
            f"{commit}'s; commit them (then run the pipeline and publish the new commit) or undo them"
        )
    return commit


def check_evaluated_model(model_dir: Path, metrics: dict[str, Any], metrics_file: Path) -> None:
    """The model folder is the one evaluated: its served graph (serving.json's, else the one the
    evaluation names) has the sha256 the evaluation recorded, every file the server reads from it
    has the sha256 `served_files` records (none missing, none more), and its labels are the
    evaluated classes."""
    # The export stage's names for what a model folder holds (release reads the serving wing only
    # through the pipeline: tests/code/test_layout.py).
    from textclf.pipeline.evaluate import served_file_names
    from textclf.pipeline.export import GRAPH_FILES, SERVING_FILE

    check_model_folder(model_dir)
    graph = metrics.get("graph")
    file, digest = (graph.get("file"), graph.get("sha256")) if isinstance(graph, dict) else (None, None)
    if file not in GRAPH_FILES.values() or not isinstance(digest, str):
        raise ReleaseError(
            f"{metrics_file}: graph.file and graph.sha256 (which graph was evaluated) are missing or not "
            f"one of {sorted(GRAPH_FILES.values())}: nothing ties {model_dir} to this evaluation; {REDO}"
        )
    serving = model_dir / SERVING_FILE
    if serving.is_file():
        chosen = read_json_file(serving, "the served graph").get("quantize")
        if GRAPH_FILES.get(chosen) != file:
            raise ReleaseError(
                f"{serving}: the folder serves {GRAPH_FILES.get(chosen, repr(chosen))}, but {metrics_file} "
                f"evaluated {file}; {REDO}"
            )
    graph_path = model_dir / file
    if not graph_path.is_file() or sha256_of(graph_path) != digest:
        found = f"sha256 {sha256_of(graph_path)[:12]}" if graph_path.is_file() else "missing"
        raise ReleaseError(
            f"{graph_path} ({found}) is not the graph {metrics_file} evaluated (sha256 {digest[:12]}): "
            f"this folder is not the evaluated model; {REDO}"
        )
    labels = read_json_file(model_dir / "labels.json", "the model's labels").get("labels")
    matrix = metrics.get("confusion_matrix")
    evaluated = matrix.get("labels") if isinstance(matrix, dict) else None
    per_class = metrics.get("per_class")
    if evaluated is None and isinstance(per_class, dict):
        evaluated = list(per_class)
    if (
        not isinstance(labels, list)
        or labels != evaluated
        or (isinstance(per_class, dict) and sorted(per_class) != sorted(labels))
    ):
        raise ReleaseError(
            f"{model_dir / 'labels.json'}: labels {labels!r} are not the classes {metrics_file} evaluated "
            f"({evaluated!r}); {REDO}"
        )
    recorded = recorded_served_files(metrics, metrics_file)
    found_files = {
        name: sha256_of(model_dir / name) if (model_dir / name).is_file() else None
        for name in sorted({*recorded, *served_file_names(model_dir, file)})
    }
    problems = served_file_problems(recorded, found_files, str(model_dir), metrics_file)
    if problems:
        raise ReleaseError(
            f"{model_dir} is not the model folder {metrics_file} evaluated: {'; '.join(problems)}; the "
            f"server reads these files, so it would answer otherwise than the evaluated model; {REDO}"
        )


REDO = (
    "evaluate the folder again (dvc repro evaluate, or make repro) so the folder and its evaluation "
    "belong together, then publish"
)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def recorded_served_files(metrics: dict[str, Any], metrics_file: Path | str) -> dict[str, str]:
    """eval.json's `served_files` (textclf.pipeline.evaluate.SERVED_FILES_KEY): the sha256 of each
    file of the evaluated folder the server reads, consistent with `graph`; else ReleaseError."""
    from textclf.pipeline.evaluate import REQUIRED_FILES, SERVED_FILES_KEY
    from textclf.pipeline.export import GRAPH_FILES, SERVING_FILE

    record = metrics.get(SERVED_FILES_KEY)
    if record is None:
        raise ReleaseError(
            f"{metrics_file}: no {SERVED_FILES_KEY} (the sha256 of each file of the evaluated model folder "
            "the server reads: tokenizer, config, labels, serving.json, graph): an evaluate stage older "
            "than this check wrote it, so nothing shows the tokenizer and settings shipped are the ones "
            f"evaluated; {REDO}"
        )
    known = {*REQUIRED_FILES, SERVING_FILE, *GRAPH_FILES.values()}
    if not isinstance(record, dict) or not all(
        name in known and isinstance(value, str) and SHA256_HEX.fullmatch(value)
        for name, value in record.items()
    ):
        raise ReleaseError(
            f"{metrics_file}: {SERVED_FILES_KEY} must map files the server reads "
            f"({', '.join(sorted(known))}) to sha256 digests (64 lowercase hex), not {str(record)[:200]}; "
            f"the evaluate stage writes it: {REDO}"
        )
    graph = metrics.get("graph") if isinstance(metrics.get("graph"), dict) else {}
    file = graph.get("file") if graph.get("file") in GRAPH_FILES.values() else None
    lacking = sorted({*REQUIRED_FILES, file or "the evaluated graph (graph.file)"} - set(record))
    if lacking or record[file] != graph.get("sha256"):
        said = f"lacks {', '.join(lacking)}" if lacking else f"gives {file} another sha256 than graph.sha256"
        raise ReleaseError(f"{metrics_file}: {SERVED_FILES_KEY} {said}: not what evaluate records; {REDO}")
    return record


def served_file_problems(
    recorded: dict[str, str], found: dict[str, str | None], where: str, metrics_file: Path | str
) -> list[str]:
    """How `found` ({name: sha256, None: absent} of the files shipped) differs from `recorded`."""
    problems = []
    for name, digest in sorted(found.items()):
        expected = recorded.get(name)
        if expected is None and digest is not None:
            problems.append(f"{where}/{name} is served but {metrics_file} evaluated no such file")
        elif expected is not None and digest is None:
            problems.append(f"{where}/{name} is missing ({metrics_file} evaluated sha256 {expected[:12]})")
        elif digest != expected:
            problems.append(
                f"{where}/{name} has sha256 {str(digest)[:12]}, {metrics_file} evaluated {expected[:12]}"
            )
    return problems


def passing_evaluation(
    metrics_file: Path, gate_file: Path, test_split_file: Path, params: Params | None = None
) -> tuple[dict[str, Any], bytes | None]:
    """The evaluation metrics and the evaluated test split of a model that passes the gate; else
    ReleaseError (only a passing model is published). The model is judged again here, not taken on a
    file's word: the metrics must agree with their own confusion matrix and classes (the gate's
    check, textclf.review.gate.check_metrics) and pass params.yaml's thresholds and served-graph rule
    (textclf.verdict.judge, as the evaluate stage and the gate judge them). `params`: the commit's
    params.yaml (None: the workspace's, which a by-hand publish has checked is the commit's).

    The verdicts written (`gate_file`, and `make gate`'s full verdict FULL_GATE_FILE when the
    workspace has one) must say pass and hold exactly the checks judging again gives: a verdict
    without checks, with renamed ones or with other bounds is not this model's pass. The champion is
    not looked up again: the full verdict's own champion figure is compared again with params.yaml's
    champion_tolerance, and its data-rule checks (the report's results) must be the rules params.yaml
    sets, at its bounds."""
    metrics = read_json_file(metrics_file, "the evaluation metrics")
    unscored = [name for name in ("accuracy", "macro_f1") if not is_score(metrics.get(name))]
    if unscored:
        raise ReleaseError(
            f"{metrics_file}: {', '.join(unscored)} must be a number from 0 to 1; this is not an "
            "evaluation the gate could pass: run the pipeline again (dvc repro) and make gate"
        )
    # The evaluate stage's verdict on these metrics (gate_file) must be there: without it nobody
    # judged the model. `make gate`'s full verdict (FULL_GATE_FILE), when the workspace has one, too.
    verdicts = []
    for verdict_file in [gate_file] + ([FULL_GATE_FILE] if FULL_GATE_FILE.is_file() else []):
        verdict = atomic.read_json_object(
            verdict_file,
            ReleaseError,
            "only a model whose gate passed is published: run the pipeline (dvc repro; its evaluate "
            "stage writes the verdict) and make gate",
            " (the gate verdict)",
        )
        # Exactly "pass" (textclf.verdict.is_pass): "FAIL", "Pass" or a missing verdict is no pass.
        if not is_pass(verdict):
            raise ReleaseError(
                f"{verdict_file}: the gate did not pass this model; only a passing model is published"
            )
        verdicts.append((verdict_file, verdict))
    params = params or workspace_params()
    judged = judge_again(metrics, metrics_file, params)
    for verdict_file, verdict in verdicts:
        expected = judged if verdict_file == gate_file else judge_full_again(verdict, metrics, params)
        if not is_pass(expected):  # a champion or data rule the verdict itself records as failed
            raise ReleaseError(
                f"{verdict_file}: judged again with params.yaml the model fails ({expected['reasons'][0]}); "
                "only a passing model is published"
            )
        other = judged_other_metrics(verdict, expected)
        if other:
            raise ReleaseError(
                f"{verdict_file} {other}: the pass is not the gate's on these metrics with params.yaml "
                "(edited, or judged before the last run); run the pipeline again (dvc repro) and make gate"
            )
    return metrics, evaluated_test_split(test_split_file, PREDICTIONS_FILE)


def workspace_params() -> Params:
    """The workspace's params.yaml, which the model is judged with again; ReleaseError naming it."""
    from textclf.config import ParamsError, load_params

    try:
        return load_params()
    except ParamsError as error:
        raise ReleaseError(
            f"{error} (publish judges the model again with the commit's params.yaml)"
        ) from None


def judge_again(metrics: dict[str, Any], metrics_file: Path, params: Params) -> dict[str, Any]:
    """The verdict the evaluate stage gives `metrics` with `params` (thresholds and the served-graph
    rule), once the metrics are shown to be the evaluate stage's for this data, as the gate shows it
    (textclf.review.gate.check_metrics: every class, figures that agree with the confusion matrix);
    ReleaseError unless it passes."""
    from textclf.review.gate import GateError, check_metrics

    try:
        check_metrics(params, metrics, metrics_file)
    except GateError as error:
        raise ReleaseError(str(error)) from None
    judged = judge(metrics, params.evaluate, serve=params.deploy.serve)
    if not is_pass(judged):
        raise ReleaseError(
            f"{metrics_file}: judged with params.yaml's thresholds the model fails ({judged['reasons'][0]}); "
            "only a passing model is published"
        )
    return judged


def judge_full_again(verdict: dict[str, Any], metrics: dict[str, Any], params: Params) -> dict[str, Any]:
    """`make gate`'s verdict judged again: thresholds and served graph as judge_again, the champion
    the verdict names (its figure, with params.yaml's champion_tolerance) and the data-rule checks
    it holds (results of the report's data checks), which must be the rules params.yaml sets."""
    from textclf.verdict import Champion

    where = f"{FULL_GATE_FILE}"
    info = verdict.get("champion")
    champion = None
    if info is not None:
        if not (
            isinstance(info, dict)
            and info.get("origin") in ("production", "main")
            and isinstance(info.get("location"), str)
        ):
            raise ReleaseError(
                f"{where}: champion is not what make gate writes (origin production or main, a location): "
                "run make gate again"
            )
        champion = Champion(
            info["origin"],
            {params.evaluate.main_metric: info.get(params.evaluate.main_metric)},
            info["location"],
            info.get("model_version"),
            info.get("recorded_at"),
            info.get("task"),
        )
    checks = verdict.get("checks") if isinstance(verdict.get("checks"), list) else []
    rules = [
        check for check in checks if isinstance(check, dict) and str(check.get("check")).startswith("data: ")
    ]
    wanted = {
        f"data: {key}": bound
        for key, bound in params.review.data_gate.model_dump().items()
        if bound is not None
    }
    given = {check.get("check"): check.get("bound") for check in rules}
    if given != wanted or len(rules) != len(given):
        raise ReleaseError(
            f"{where} judged the data rules {str(given or 'none')[:300]}, but params.yaml "
            f"review.data_gate sets {wanted or 'none'}: run make report and make gate again"
        )
    return judge(metrics, params.evaluate, champion, rules, serve=params.deploy.serve)


# What a verdict's check says that judging again must give alike ("problem" is its prose).
COMPARED_CHECK_KEYS = ("check", "value", "op", "bound", "passed", "reference", "tolerance", "against")


def judged_other_metrics(verdict: dict[str, Any], judged: dict[str, Any]) -> str | None:
    """How a verdict's checks differ from `judged`'s (the same metrics judged again), or None: each
    check judging again makes must be there once with the same value, bound and outcome, and no other
    (a verdict without checks, or with renamed ones, judged nothing that is known)."""
    written = verdict.get("checks")
    if not isinstance(written, list) or not written:
        return "holds no list of checks, so it judged nothing"
    if not all(isinstance(check, dict) for check in written):
        return "holds a check that is not an object"
    theirs: dict[Any, dict[str, Any]] = {}
    for check in written:
        name = check.get("check")
        if not isinstance(name, str) or name in theirs:
            return f"holds the check {name!r} twice, or without a name"
        theirs[name] = check
    mine = {check["check"]: check for check in judged["checks"]}
    for name, check in mine.items():
        found = theirs.get(name)
        if found is None:
            return f"has no check {name!r} ({check['op']} {check['bound']:g}), which params.yaml's gate makes"
        for key in COMPARED_CHECK_KEYS:
            # JSON's text of each: 1 and 1.0, or 1 and true, are other values of a verdict.
            if json.dumps(found.get(key)) != json.dumps(check.get(key)):
                return (
                    f"judged {name} with {key} {found.get(key)!r}, but judged again it is {check.get(key)!r}"
                )
    unknown = sorted(set(theirs) - set(mine))
    if unknown:
        return f"holds a check {unknown[0]!r} the gate does not make with params.yaml"
    return None


def stage_publish(
    out: Path = PUBLISH_DIR,
    metrics_file: Path = METRICS_FILE,
    gate_file: Path = GATE_FILE,
    test_split_file: Path = TEST_SPLIT_FILE,
    model_dir: Path = MODEL_DIR,
    job_file: Path = TRAIN_JOB_FILE,
    s3: Any = None,
    params: Params | None = None,
) -> list[str]:
    """A pull request's publish, first half: the files published beside the run's job's model
    (textclf.training.sagemaker publish-run-job, the second half, hands them to the training-run
    function), checked as `publish` checks them, in `out` (replaced whole). Returns their names.
    `model_dir` (the job's model as the train stage unpacked it) must be the folder evaluated, every
    file the server reads included; so must the job's archive itself (the train stage's `job_file`
    names it), which the function copies byte for byte to the write-once models/<head>/: checked
    here, before anything is published, as the release checks it again (verify_archive)."""
    metrics, evaluated = passing_evaluation(metrics_file, gate_file, test_split_file, params)
    check_evaluated_model(model_dir, metrics, metrics_file)
    archive = job_archive(job_file)
    if archive is not None:
        check_job_archive(archive, metrics, metrics_file, s3)
    files = {METRICS_NAME: _json_bytes(metrics)}
    if gate_file.is_file():
        files[GATE_NAME] = _json_bytes(read_json_file(gate_file, "the gate verdict"))
    if REFERENCE_FILE.is_file():
        files[REFERENCE_FILE.name] = _json_bytes(read_json_file(REFERENCE_FILE, "the drift reference"))
    if evaluated is not None:
        files[EVALUATED_NAME] = evaluated
    with atomic.atomic_dir(out) as staging:
        for name, body in files.items():
            (staging / name).write_bytes(body)
    return sorted(files)


def job_archive(job_file: Path) -> str | None:
    """The s3:// URL of the SageMaker job's model.tar.gz the train stage recorded in `job_file`;
    None when the model was not trained by a SageMaker job (publish-run-job then refuses)."""
    if not job_file.is_file():
        return None
    facts = read_json_file(job_file, "the training job's facts")
    if facts.get("backend") != "sagemaker":
        return None
    url = facts.get("model_artifact")
    if not (isinstance(url, str) and re.fullmatch(r"s3://[a-z0-9.-]{3,63}/\S+", url)):
        raise ReleaseError(
            f"{job_file}: model_artifact {str(url)[:200]!r} is not the s3:// URL of the job's model.tar.gz; "
            "run the pipeline again (make repro)"
        )
    return url


def check_job_archive(url: str, metrics: dict[str, Any], metrics_file: Path, s3: Any = None) -> None:
    """The job's archive at `url` holds the files the server reads as `metrics` records them."""
    recorded = recorded_served_files(metrics, metrics_file)
    bucket, key = url.removeprefix("s3://").split("/", 1)
    if s3 is None:
        from textclf.config import ParamsError, load_params

        try:
            s3 = aws_client("s3", load_params().aws.resolved())
        except ParamsError as error:
            raise ReleaseError(str(error)) from None
    with aws_errors(f"read {url} (the job's model)"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        found = archive_served_files(body, recorded)
    problems = served_archive_problems(recorded, found, metrics, url, str(metrics_file))
    if problems:
        raise ReleaseError(
            f"{url}, the job's model the training-run function would publish, is not the model folder "
            f"{metrics_file} evaluated: {'; '.join(problems)}; nothing was staged or published. The "
            f"train stage unpacks that archive into {MODEL_DIR}: run the pipeline again (make repro) so "
            "the folder, its evaluation and the job belong together"
        )


def evaluated_test_split(test_split_file: Path, predictions_file: Path) -> bytes | None:
    """JSON lines {"text", "predicted"}: each test text with evaluate's label, in order; None when
    the pipeline's outputs are not both there (the staging check then needs them locally)."""
    from textclf.release import staging

    if not (test_split_file.is_file() and predictions_file.is_file()):
        return None
    try:  # the staging check's own reader, so both read the split the same way
        texts, predicted = staging.test_split(test_split_file.parent, predictions_file)
    except staging.StagingError as error:
        raise ReleaseError(str(error)) from None
    lines = [
        json.dumps({"text": t, "predicted": p}, ensure_ascii=False)
        for t, p in zip(texts, predicted, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def published_test_split(commit: str, aws: AwsParams, s3: Any = None) -> tuple[list[str], list[str]]:
    """The test texts and evaluate's labels published with the commit's model, checked against the
    sha256 its manifest recorded."""
    artifact = Artifact(aws.published_models, check_commit(commit))
    s3 = s3 or aws_client("s3", aws)
    manifest = find_artifact(commit, aws, s3)
    expected = (manifest.get("files") or {}).get(EVALUATED_NAME)
    if not expected:
        raise ReleaseError(
            f"{artifact.url(MANIFEST_NAME)} lists no {EVALUATED_NAME}: the model was published without "
            "its evaluated test split; run the staging check in a checkout with the PR's outputs"
        )
    with aws_errors(f"read {artifact.url(EVALUATED_NAME)}"):
        body = s3.get_object(Bucket=artifact.bucket, Key=artifact.key(EVALUATED_NAME))["Body"].read()
    if hashlib.sha256(body).hexdigest() != expected:
        raise ReleaseError(
            f"{artifact.url(EVALUATED_NAME)} does not match the sha256 in its manifest: not the "
            "evaluated test split of this model"
        )
    texts, predicted = [], []
    for number, line in enumerate(body.decode("utf-8", "replace").splitlines(), 1):
        if not line:
            continue
        try:
            row = json.loads(line)
            text, label = row["text"], row["predicted"]
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ReleaseError(
                f"{artifact.url(EVALUATED_NAME)} line {number}: not a JSON object with text and predicted; "
                "publish the model again from its pull request"
            ) from None
        texts.append(str(text))
        predicted.append(str(label))
    return texts, predicted


def _upload(
    s3: Any,
    artifact: Artifact,
    model_dir: Path,
    metrics: dict[str, Any],
    gate_file: Path,
    evaluated: bytes | None,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="textclf-publish-") as work:
        archive = Path(work) / MODEL_ARCHIVE
        pack_model(model_dir, archive)
        digest = sha256_of(archive)
        existing = _published_manifest(s3, artifact)
        if existing is not None:
            if existing.get("sha256") != digest:
                raise ReleaseError(
                    f"{artifact.url(MANIFEST_NAME)} already holds a model of commit {artifact.commit} "
                    f"(sha256 {str(existing.get('sha256'))[:12]}): released models are write-once, so the "
                    "first published model of a commit is the one a release deploys. Push a new commit "
                    "to publish another model"
                )
            return existing  # the same bytes again (a re-run): nothing to do
        manifest = {
            "commit": artifact.commit,
            "model_data_url": artifact.url(),
            "sha256": digest,
            "size_bytes": archive.stat().st_size,
            "published_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "metrics": metrics,
        }
        if evaluated is not None:
            manifest["files"] = {EVALUATED_NAME: hashlib.sha256(evaluated).hexdigest()}
        _put_once(s3, artifact, MODEL_ARCHIVE, archive, "application/gzip")
    _put_once(s3, artifact, METRICS_NAME, _json_bytes(metrics))
    # The drift check compares the live model's traffic with this (textclf.monitoring.drift).
    if REFERENCE_FILE.is_file():
        reference = read_json_file(REFERENCE_FILE, "the drift reference")
        _put_once(s3, artifact, REFERENCE_FILE.name, _json_bytes(reference))
    if evaluated is not None:
        _put_once(s3, artifact, EVALUATED_NAME, evaluated, "application/jsonlines")
    if gate_file.is_file():
        _put_once(s3, artifact, GATE_NAME, _json_bytes(read_json_file(gate_file, "the gate verdict")))
    # Last: its presence says every other file of this commit is complete.
    _put_once(s3, artifact, MANIFEST_NAME, _json_bytes(manifest))
    return manifest


def _published_manifest(s3: Any, artifact: Artifact) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=artifact.bucket, Key=artifact.key(MANIFEST_NAME))["Body"].read()
    except ClientError as error:
        if _missing(error):
            return None
        raise
    try:
        manifest = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _json_bytes(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload, indent=2) + "\n").encode("utf-8")


# S3's largest single PutObject ("Upload an object in a single operation ... up to 5 GB", S3 User
# Guide, "Uploading objects"). Above it the archive goes up in parts: the write-once policy
# (terraform/storage.tf) lets the calls that only stage parts through (s3:ObjectCreationOperation
# false) and requires If-None-Match on CompleteMultipartUpload, which boto3's upload_file cannot
# send (s3transfer takes no IfNoneMatch), so the parts are sent here, one part in memory at a time.
SINGLE_PUT_LIMIT_BYTES = 5 * 1024**3
PART_BYTES = 64 * 1024**2  # S3 allows 10,000 parts: 640 GiB


def _put_in_parts(s3: Any, bucket: str, key: str, path: Path, content_type: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]
    try:
        parts = []
        with path.open("rb") as source:
            while chunk := source.read(PART_BYTES):
                number = len(parts) + 1
                answer = s3.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=chunk
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
        )
    except BaseException:
        with contextlib.suppress(Exception):  # nothing staged is left behind
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise


def _put_once(
    s3: Any, artifact: Artifact, name: str, body: bytes | Path, content_type: str = "application/json"
) -> None:
    """A conditional write (If-None-Match: *): the artifacts bucket refuses any other write under
    models/ (terraform/storage.tf), and S3 refuses this one if the key exists (412). A file is
    streamed from disk, never read into memory whole."""
    from botocore.exceptions import ClientError

    key = artifact.key(name)
    try:
        if isinstance(body, Path) and body.stat().st_size > SINGLE_PUT_LIMIT_BYTES:
            _put_in_parts(s3, artifact.bucket, key, body, content_type)
        else:
            with body.open("rb") if isinstance(body, Path) else nullcontext(body) as payload:
                s3.put_object(
                    Bucket=artifact.bucket, Key=key, Body=payload, ContentType=content_type, IfNoneMatch="*"
                )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in ("PreconditionFailed", "412"):
            raise
        current = hashlib.sha256()
        for chunk in s3.get_object(Bucket=artifact.bucket, Key=key)["Body"].iter_chunks(1024 * 1024):
            current.update(chunk)
        wanted = sha256_of(body) if isinstance(body, Path) else hashlib.sha256(body).hexdigest()
        if current.hexdigest() != wanted:
            raise ReleaseError(
                f"{artifact.url(name)} already exists with other content (an earlier publish of "
                f"{artifact.commit} that did not finish); released files are write-once: push a new commit"
            ) from None


def _put_json(s3: Any, bucket: str, key: str, payload: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=_json_bytes(payload), ContentType="application/json")


# ---------------------------------------------------------------------------------------------
# Which commit a release promotes


def reviewed_commit(
    repository: str, merged_sha: str, run: Callable[..., subprocess.CompletedProcess] = subprocess.run
) -> str:
    """The head commit of the PR that `merged_sha` came from (its model was published under it);
    `merged_sha` itself for a push that came from no PR."""
    merged = check_commit(merged_sha)
    command = ["gh", "api", f"repos/{repository}/commits/{merged}/pulls", "--jq", ".[0].head.sha // empty"]
    try:
        result = run(command, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ReleaseError("the GitHub CLI (gh) is not installed; pass COMMIT=<sha> instead") from None
    if result.returncode != 0:
        raise ReleaseError(
            f"cannot ask GitHub which PR produced {merged}: {result.stderr.strip() or 'gh api failed'} "
            "(the job needs `pull-requests: read` and GH_TOKEN)"
        )
    head = result.stdout.strip()
    return check_commit(head) if head else merged


# ---------------------------------------------------------------------------------------------
# Promote (release workflow)


def find_artifact(commit: str, aws: AwsParams, s3: Any = None) -> dict[str, Any]:
    """The manifest of the commit's published model, or an error naming the commit."""
    artifact = Artifact(aws.published_models, check_commit(commit))
    s3 = s3 or aws_client("s3", aws)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = s3.get_object(Bucket=artifact.bucket, Key=artifact.key(MANIFEST_NAME))["Body"].read()
    except (BotoCoreError, ClientError) as error:
        if not _missing(error):
            raise ReleaseError(f"cannot read {artifact.url(MANIFEST_NAME)}: {error}") from None
        raise ReleaseError(
            f"no trained model for commit {artifact.commit}: {artifact.url(MANIFEST_NAME)} does not exist. "
            "The pr workflow publishes the model of a PR's head commit after its gate passed; release "
            "a commit whose PR run went green (workflow_dispatch with `commit`), or open a PR for it"
        ) from None
    try:
        s3.head_object(Bucket=artifact.bucket, Key=artifact.key(MODEL_ARCHIVE))
    except (BotoCoreError, ClientError) as error:
        if not _missing(error):
            raise ReleaseError(f"cannot read {artifact.url(MODEL_ARCHIVE)}: {error}") from None
        # Publish writes the archive before its manifest, and models/ is write-once (storage.tf): a
        # manifest without its archive is damage, not a commit that did not train.
        raise ReleaseError(
            f"{artifact.url(MODEL_ARCHIVE)} is missing although {artifact.url(MANIFEST_NAME)} was published "
            "(models/ is write-once and nothing deletes it): the published model is damaged; find what "
            "removed it (the bucket's versions, CloudTrail) before releasing this commit. "
            "Nothing was released"
        ) from None
    try:
        manifest = json.loads(body)
    except (ValueError, RecursionError):
        raise ReleaseError(
            f"{artifact.url(MANIFEST_NAME)}: not valid JSON; publish the commit again"
        ) from None
    if not isinstance(manifest, dict):
        raise ReleaseError(f"{artifact.url(MANIFEST_NAME)}: not a JSON object; publish the commit again")
    if manifest.get("commit") != artifact.commit:
        raise ReleaseError(f"{artifact.url(MANIFEST_NAME)}: names commit {manifest.get('commit')!r}")
    check_manifest(manifest, artifact.url(MANIFEST_NAME))
    return manifest


# A manifest's fields and what each must be (the ones publish writes; `provenance` is checked by
# verify_provenance).
MANIFEST_FIELDS: dict[str, tuple[type, str]] = {
    "model_data_url": (str, "the archive's s3:// URL"),
    "sha256": (str, "64 hex digits"),
    "size_bytes": (int, "a number of bytes"),
    "metrics": (dict, "the evaluation metrics (an object)"),
}


def check_manifest(manifest: dict[str, Any], where: str) -> None:
    """Every field a release reads, of the shape it reads it in: a named error, not a traceback."""
    for field, (kind, meaning) in MANIFEST_FIELDS.items():
        value = manifest.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ReleaseError(f"{where}: field {field!r} must be {meaning}, not {value!r:.80}")
    if not re.fullmatch(r"[0-9a-f]{64}", manifest["sha256"]):
        raise ReleaseError(f"{where}: field 'sha256' must be 64 hex digits, not {manifest['sha256']!r:.80}")
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)
        for k, v in files.items()
    ):
        raise ReleaseError(
            f"{where}: field 'files' must be a map of file names to sha256 digests, not {files!r:.80}"
        )
    if "provenance" in manifest and not isinstance(manifest["provenance"], dict):
        raise ReleaseError(
            f"{where}: field 'provenance' must be an object, not {manifest['provenance']!r:.80}"
        )


def verify_archive(
    commit: str, manifest: dict[str, Any], aws: AwsParams, s3: Any = None, provenance: bool = True
) -> str:
    """The archive's sha256 must be the one published in the manifest: the reviewed bytes are the
    released bytes; and (`provenance`) the manifest must show they are the output of a training job
    of exactly this commit (verify_provenance). Checked before anything touches the endpoint."""
    artifact = Artifact(aws.published_models, check_commit(commit))
    if provenance:
        verify_provenance(artifact.commit, manifest, artifact.url(MANIFEST_NAME))
    s3 = s3 or aws_client("s3", aws)
    expected = str(manifest.get("sha256", ""))
    metrics = manifest.get("metrics") if isinstance(manifest.get("metrics"), dict) else {}
    where = f"{artifact.url(MANIFEST_NAME)} (metrics: the published {METRICS_NAME})"
    # A model published before evaluate recorded served_files has only its digest checked (a
    # reviewed rollback to it still passes); publish refuses to publish a new one without them.
    recorded = recorded_served_files(metrics, where) if "served_files" in metrics else None
    with aws_errors(f"read {artifact.url()}"):
        body = HashingReader(s3.get_object(Bucket=artifact.bucket, Key=artifact.key(MODEL_ARCHIVE))["Body"])
        found = archive_served_files(body, recorded) if recorded is not None else {}
        for _ in iter(lambda: body.read(1 << 20), b""):  # the rest of the bytes, for the digest
            pass
    if body.digest.hexdigest() != expected:
        raise ReleaseError(
            f"{artifact.url()} has sha256 {body.digest.hexdigest()}, but its manifest published "
            f"{expected or 'none'}: the archive is not the reviewed model; nothing was released"
        )
    if recorded is not None:
        problems = served_archive_problems(recorded, found, metrics, artifact.url(), where)
        if problems:
            raise ReleaseError(
                f"{artifact.url()} is not the model folder its {METRICS_NAME} evaluated: "
                f"{'; '.join(problems)}; "
                "the server reads these files, so the endpoint would answer otherwise than the evaluated "
                "model. Nothing was released: push a new commit to the pull request so its run trains, "
                "evaluates and publishes again"
            )
    return expected


class HashingReader:
    """A file-like stream that hashes (sha256) every byte read through it."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data


# serving.json is read whole to compare the graph it serves; the train stage's is a few KB.
MAX_SERVING_BYTES = 1024**2


def archive_served_files(stream: Any, recorded: dict[str, str]) -> dict[str, str]:
    """{name: sha256} of the files at the root of the gzip tar `stream` that the server may read
    (the names `recorded`, and serving.json), read in one pass, and "quantize": the graph its
    serving.json serves. A tar the server cannot take gives {"": the problem}."""
    from textclf.pipeline.export import SERVING_FILE

    wanted, found = {*recorded, SERVING_FILE}, {}
    try:
        with tarfile.open(fileobj=stream, mode="r|gz") as tar:
            for member in tar:
                name = os.path.normpath(member.name)  # ./config.json is config.json once unpacked
                if name not in wanted:
                    continue
                if name in found or not member.isfile():
                    return {"": f"{name} is {'in it twice' if name in found else 'not a regular file'}"}
                handle, digest, head = tar.extractfile(member), hashlib.sha256(), b""
                for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                    digest.update(block)
                    head += block if name == SERVING_FILE and len(head) < MAX_SERVING_BYTES else b""
                found[name] = digest.hexdigest()
                if name == SERVING_FILE:
                    found["quantize"] = _served_quantize(head)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        return {"": f"not a gzip tar archive the server can unpack ({error})"}
    return found


def _served_quantize(body: bytes) -> Any:
    try:
        record = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return record.get("quantize") if isinstance(record, dict) else None


def serving_json_rule(metrics: dict[str, Any]) -> tuple[bool, str]:
    """How the archive's serving.json is compared with the one `metrics` (an eval.json) evaluated:
    (True, why) byte for byte, as every other served file; (False, why) by the graph it serves only.

    eval.json's `serving` (textclf.pipeline.evaluate.serving_record: the record's rule and scores)
    tells the two formats apart. Since the training program chooses alone (f832974), it writes
    serving.json once, an `auto` choice scored on the validation split only
    (textclf.pipeline.export.CHOICE_SPLIT), and the train stage takes it unchanged
    (export.recorded_choice refuses any other record): the job's archive holds the evaluated bytes.
    Before that, with `auto`, the train stage chose again on the validation and test splits and
    rewrote serving.json after the job, so a model published then legitimately ships other bytes
    than it evaluated: its record is `auto` scoring validation and more splits, and only the graph
    it serves (the one field the server reads) is compared. A fixed rule (`none`, `int8`) was never
    rewritten: byte for byte in both formats, as is a record of any other shape (fails closed)."""
    from textclf.pipeline.export import CHOICE_SPLIT

    serving = metrics.get("serving")
    serving = serving if isinstance(serving, dict) else {}
    scores = serving.get("scores")
    # The train stage's rewrite scored the validation split and more (the test split): that record only.
    if serving.get("rule") == "auto" and isinstance(scores, dict) and {CHOICE_SPLIT} < set(scores):
        splits = sorted(str(name) for name in scores)
        said = f"the {' and '.join(splits)} split{'s' if len(splits) > 1 else ''}" if splits else "no split"
        return False, (
            f"compared by the graph it serves only: the evaluated record is an auto choice scored on {said}, "
            "which the train stage rewrote after the job before the training program chose alone on the "
            f"{CHOICE_SPLIT} split"
        )
    rule = serving.get("rule")
    return True, (
        "compared byte for byte: the evaluated record is the training program's own choice (rule "
        f"{rule if isinstance(rule, str) else 'not recorded'}), which the train stage takes unchanged"
    )


def served_archive_problems(
    recorded: dict[str, str], found: dict[str, Any], metrics: dict[str, Any], url: str, where: str
) -> list[str]:
    """How the archive's served files (archive_served_files) differ from `recorded`, the served
    files `metrics` (an eval.json) evaluated. serving.json must serve the evaluated graph, and be
    the evaluated bytes unless the record is of the format the train stage rewrote
    (serving_json_rule, which the refusal names): a pull request's archive is its SageMaker job's
    output and the train stage takes the job's serving.json unchanged, so another graph or other
    bytes mean another run's archive or an edited record."""
    from textclf.pipeline.export import GRAPH_FILES, SERVING_FILE

    if "" in found:
        return [found[""]]
    found, problems = dict(found), []
    graph = metrics["graph"]["file"]
    quantize = found.pop("quantize", None)
    shipped_serving = found.pop(SERVING_FILE, None)
    if shipped_serving is not None:
        exact, rule = serving_json_rule(metrics)
        if GRAPH_FILES.get(quantize) != graph:
            problems.append(
                f"{url}/{SERVING_FILE} serves {GRAPH_FILES.get(quantize, repr(quantize))}, but {where} "
                f"evaluated {graph} (not the folder evaluate judged: another run's archive, or an edited "
                f"serving.json; {rule})"
            )
        elif SERVING_FILE not in recorded:
            problems.append(f"{url}/{SERVING_FILE} is served but {where} evaluated no such file")
        elif exact and shipped_serving != recorded[SERVING_FILE]:
            problems.append(
                f"{url}/{SERVING_FILE} has sha256 {shipped_serving[:12]}, {where} evaluated "
                f"{recorded[SERVING_FILE][:12]} (another run's archive, or an edited serving.json; {rule})"
            )
    elif SERVING_FILE in recorded:
        problems.append(f"{url}/{SERVING_FILE} is missing ({where} evaluated one)")
    others = {name: digest for name, digest in recorded.items() if name != SERVING_FILE}
    shipped = {name: found.get(name) for name in others}
    return problems + served_file_problems(others, shipped, url, where)


# The training image's repository (mk/sagemaker.mk TRAINING_REPOSITORY): production's, which only
# production's release role pushes to, from main.
TRAINING_REPOSITORY_ENV = "TEXTCLF_TRAINING_REPOSITORY"
ECR_IMAGE = re.compile(
    r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/(?P<repository>[a-z0-9._/-]+)"
    r"(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})"
)


def verify_provenance(
    commit: str, manifest: dict[str, Any], where: str, show: Callable[[str, str], str] | None = None
) -> dict[str, Any]:
    """The published model is the output of a training job of exactly `commit`: the manifest's
    `provenance` (written by the training-run function from SageMaker's description of the job it
    started for a run of this head commit; no pull request can write models/) names a job of this
    commit whose hyperparameters are the ones params.yaml gives at the commit, whose channels are the
    commit's data (prepared from the raw data data.dvc names, and dvc.lock's md5 of the prepared
    data when dvc.lock was written from that raw data), in the project's training repository, with
    checkpoints of its own. Returns the provenance."""
    show = show or _git_show
    facts = manifest.get("provenance")
    if not isinstance(facts, dict):
        raise ReleaseError(
            f"{where}: no provenance: this model was not published by a pull request's training job through "
            "the training-run function, so nothing shows it is the output of a job of this commit; "
            "nothing was released. Push a commit to the pull request and let its run train and publish"
        )
    fields = ("job_name", "training_image", "dataset_md5", "checkpoint_uri", "model_artifacts")
    if not all(isinstance(facts.get(key), str) for key in fields) or not isinstance(
        facts.get("hyperparameters"), dict
    ):
        raise ReleaseError(f"{where}: provenance lacks {', '.join(fields)} or hyperparameters")
    name = facts["job_name"]
    found = re.fullmatch(rf"(?P<prefix>[a-z0-9-]+)-{commit[:8]}-run[0-9]+-[0-9]+", name)
    if found is None:
        raise ReleaseError(f"{where}: job {name} is not a pull request run's job of commit {commit}")
    problems = []
    if not facts["model_artifacts"].endswith(f"/{commit}/{name}/output/model.tar.gz"):
        problems.append(f"the archive comes from {facts['model_artifacts']}, not from job {name}'s output")
    if not facts["checkpoint_uri"].endswith(f"/{name}/"):
        problems.append(f"the job checkpointed to {facts['checkpoint_uri']}, not to its own prefix")
    image = ECR_IMAGE.fullmatch(facts["training_image"])
    repository = os.environ.get(TRAINING_REPOSITORY_ENV) or f"{found['prefix']}-prod-training"
    if image is None or image["repository"] != repository:
        problems.append(f"the job ran {facts['training_image']}, not an image of the project's {repository}")
    problems.extend(_hyperparameter_problems(commit, facts["hyperparameters"], show))
    raw, locked = _data_at(commit, show)
    channels = facts.get("input_data") or []
    digest = str(facts["dataset_md5"]).removesuffix(".dir")
    if facts.get("raw_data_md5") != raw:
        problems.append(
            f"the job's data was prepared from raw data {facts.get('raw_data_md5')}, not from the data "
            f"data.dvc names at the commit ({raw})"
        )
    elif locked is not None and facts["dataset_md5"] != locked:
        problems.append(
            f"the job trained on dataset {facts['dataset_md5']}, not on the commit's prepared data "
            f"{locked} (dvc.lock)"
        )
    if not channels or not all(f"/{digest}/" in str(uri) for uri in channels):
        problems.append(f"the job's channels {channels} are not dataset {facts['dataset_md5']}")
    if problems:
        raise ReleaseError(
            f"{where}: not the output of a training job of commit {commit}: "
            + "; ".join(problems)
            + ". Nothing was released"
        )
    return facts


def _git_show(commit: str, path: str) -> str:
    # Bytes as committed (no newline translation): dvc.lock's md5 of a file is of its bytes.
    done = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, check=False)
    if done.returncode != 0:
        raise ReleaseError(
            f"cannot read {path} at commit {commit} ({done.stderr.decode(errors='replace').strip()}): fetch "
            "main's full history (actions/checkout with fetch-depth: 0)"
        )
    return done.stdout.decode("utf-8", "surrogateescape")


def _raw_params_at(commit: str, show: Callable[[str, str], str]) -> dict[str, Any]:
    """params.yaml at the commit as written, read as config reads params.yaml (its size, encoding,
    characters, duplicate keys, nesting and aliases checked; messages name params.yaml at that
    commit), its data, model and train sections mappings. Not validated against today's schema: a
    commit of another time may hold settings since added or retired, and its own job was started
    with them."""
    from textclf.config import ParamsError, read_params_bytes

    data = show(commit, "params.yaml").encode("utf-8", "surrogateescape")  # the committed bytes
    try:
        raw = read_params_bytes(data, f"params.yaml at commit {commit}")
    except ParamsError as error:
        raise ReleaseError(str(error)) from None
    sections = ("data", "model", "train")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(name), dict) for name in sections):
        raise ReleaseError(
            f"params.yaml at commit {commit}: the sections {', '.join(sections)} must be mappings"
        )
    return raw


# Where each hyperparameter of a training job comes from in params.yaml: the train section's
# settings by their own names (but `backend`), and these (textclf.pipeline.train.Hyperparameters.
# from_params; tests/release/test_provenance.py keeps the two equal).
HYPERPARAMETER_SOURCES = {
    "model_name": ("model", "name"),
    "max_length": ("model", "max_length"),
    "quantize": ("deploy", "serve", "quantize"),
    "int8_tolerance": ("deploy", "serve", "int8_tolerance"),
}
# The hyperparameters that choose the exported graphs, not the training (the ones
# Hyperparameters.fingerprint leaves out): a job of a commit whose code did not pass them yet has
# none, and the graph it exported is the one the gate judged.
EXPORT_HYPERPARAMETERS = ("quantize", "int8_tolerance")


def stated_hyperparameters(raw: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """hyperparameter -> (its setting's dotted name, the value params.yaml states) for every
    hyperparameter whose setting params.yaml `raw` states (a null states nothing)."""
    stated = {}
    sources = {**{key: ("train", key) for key in raw.get("train") or {} if key != "backend"}}
    sources.update(HYPERPARAMETER_SOURCES)
    for key, path in sources.items():
        value: Any = raw
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            stated[key] = (".".join(path), value)
    return stated


def same_value(given: Any, stated: Any) -> bool:
    """Whether a job's hyperparameter (a string: SageMaker passes strings, lists and booleans as
    JSON, Hyperparameters.for_sagemaker) is the value params.yaml states; numbers as numbers
    (params.yaml's `epochs: 2` is the job's "2.0")."""
    if not isinstance(given, str):
        return False
    if isinstance(stated, bool | list | dict):
        try:
            return json.loads(given) == stated
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            return False
    if isinstance(stated, int | float):
        try:
            return math.isfinite(float(given)) and float(given) == float(stated)
        except ValueError:
            return False
    return given == str(stated)


def _hyperparameter_problems(commit: str, job: dict[str, Any], show: Callable[[str, str], str]) -> list[str]:
    """What the job's hyperparameters differ in from the settings params.yaml states at the commit.

    Compared: every hyperparameter the job had, with the value params.yaml at the commit states
    for it; and every training setting the commit states (the train section, model.name,
    model.max_length) must have reached the job. Not required: an export setting
    (EXPORT_HYPERPARAMETERS) the job lacks, since a commit whose code did not pass it yet gave its
    job none. Nothing is derived with today's Hyperparameters: a commit trained before a
    hyperparameter was added or retired is compared with what it itself stated, so a reviewed
    rollback to it passes; the job name, output and checkpoints above bind it to its commit."""
    stated = stated_hyperparameters(_raw_params_at(commit, show))
    changed, missing, unknown = [], [], []
    for key in sorted(job):
        if key not in stated:
            unknown.append(key)
        elif not same_value(job[key], stated[key][1]):
            changed.append(key)
    for key, (setting, _) in sorted(stated.items()):
        if key not in job and key not in EXPORT_HYPERPARAMETERS:
            missing.append(f"params.yaml at the commit states {setting}, the job had none")
    problems = []
    if changed:
        differ = ", ".join(changed)
        problems.append(f"the job's hyperparameters differ from params.yaml at the commit in {differ}")
    problems.extend(missing)
    for key in unknown:
        setting = ".".join(HYPERPARAMETER_SOURCES.get(key, ("train", key)))
        problems.append(
            f"the job's hyperparameter {key} is not a setting params.yaml states at the commit ({setting})"
        )
    return problems


def _data_at(commit: str, show: Callable[[str, str], str]) -> tuple[str, str | None]:
    """(the raw data's md5 data.dvc names, dvc.lock's md5 of the prepared data when its prepare
    stage was written from the commit's own inputs, else None) at the commit. A pull request that
    changed the data, the prepare code or its params without `dvc repro` (the retrain workflow's do)
    has a stale dvc.lock: the job's prepared data is then the run's own preparation of the data
    data.dvc names."""
    import yaml

    from textclf.config import DataParams

    given = _raw_params_at(commit, show)["data"].get("prepared_dir")
    prepared = str(given if isinstance(given, str) else DataParams().prepared_dir).rstrip("/")
    try:
        tracked = yaml.safe_load(show(commit, "data.dvc"))
        (raw_out,) = tracked["outs"]
        raw_path, raw = raw_out["path"], raw_out["md5"]
        lock = yaml.safe_load(show(commit, "dvc.lock"))
        stage = lock["stages"]["prepare"]
        outs = {entry["path"]: entry.get("md5") for entry in stage["outs"]}
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise ReleaseError(f"data.dvc or dvc.lock at commit {commit}: not DVC's format ({error!r})") from None
    if not _stage_current(commit, show, stage, {raw_path: raw}):
        return raw, None
    if not isinstance(outs.get(prepared), str):
        raise ReleaseError(
            f"dvc.lock at commit {commit} records no md5 of {prepared} (the prepare stage's output)"
        )
    return raw, outs[prepared]


def _stage_current(
    commit: str, show: Callable[[str, str], str], stage: dict, tracked: dict[str, str]
) -> bool:
    """Whether dvc.lock's stage was written from the commit's own inputs: each dependency's md5
    (the DVC-tracked data's from its .dvc file, a file's from the commit) and each parameter's value
    (params.yaml at the commit) as the lock records them."""
    for dep in stage.get("deps") or []:
        path, md5 = dep.get("path"), dep.get("md5")
        if path in tracked:
            if tracked[path] != md5:
                return False
            continue
        try:
            content = show(commit, path).encode("utf-8", "surrogateescape")
        except ReleaseError:
            return False
        if hashlib.md5(content, usedforsecurity=False).hexdigest() != md5:
            return False
    values = _raw_params_at(commit, show)
    for key, locked in ((stage.get("params") or {}).get("params.yaml") or {}).items():
        value: Any = values
        for part in str(key).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value != locked:
            return False
    return True


@dataclass(frozen=True)
class Targets:
    """The deployed resources (Terraform outputs redeploy_function_name and endpoint_name)."""

    function_name: str
    endpoint_name: str

    def check(self) -> Targets:
        for name, value in (
            ("TEXTCLF_REDEPLOY_FUNCTION", self.function_name),
            ("TEXTCLF_ENDPOINT_NAME", self.endpoint_name),
        ):
            if not value:
                raise ReleaseError(
                    f"{name} is not set: pass the Terraform output (make infra-output) as a repository "
                    "variable, or on the command line"
                )
        return self


def invoke_redeploy(
    lambda_client: Any,
    dynamodb: Any,
    function_name: str,
    payload: dict[str, str],
    timeout_s: float | None = None,
    poll_s: float = 5,
) -> dict[str, Any]:
    """Start the redeploy Lambda asynchronously and wait, up to a deadline, for its outcome.

    No connection is held open while it deploys (runners' idle connections are dropped after
    minutes): InvocationType Event queues the event and answers 202 at once. The Lambda writes its
    result to the lock table as `result/<release_id>` with the number of attempts Lambda made; a
    failed attempt raises there, so Lambda retries it (MaximumRetryAttempts) and the outcome is
    final once the last attempt has written its result. Returns the result, or fails with its reason.
    """
    release_id = f"{payload.get('model_version', 'release')[:12]}-{uuid.uuid4().hex[:12]}"
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    table = (config.get("Environment") or {}).get("Variables", {}).get("LOCK_TABLE")
    if not table:
        raise ReleaseError(
            f"redeploy Lambda {function_name} has no LOCK_TABLE in its environment (Terraform sets it)"
        )
    retries = _maximum_retries(lambda_client, function_name)
    if timeout_s is None:
        # Every attempt may run for the function's timeout; Lambda waits about 1 and 2 minutes
        # before its retries (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
        timeout_s = (retries + 1) * float(config.get("Timeout", 900)) + 180 * retries + 60
    response = lambda_client.invoke(
        FunctionName=function_name,
        InvocationType="Event",
        Payload=json.dumps({**payload, "release_id": release_id}).encode(),
    )
    if response.get("StatusCode") != 202:
        raise ReleaseError(
            f"redeploy Lambda {function_name} did not queue the event (HTTP {response.get('StatusCode')})"
        )
    log(f"redeploy Lambda {function_name} started (release {release_id}); waiting up to {timeout_s:.0f} s")
    deadline = time.monotonic() + timeout_s
    key = {"lock_id": {"S": f"result/{release_id}"}}
    item: dict[str, Any] = {}
    while True:
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
        attempts = int(item.get("attempts", {}).get("N", 0))
        result_attempt = int(item.get("result_attempt", {}).get("N", 0))
        if item.get("result") and result_attempt == attempts:
            result = _redeploy_result(item, table, release_id)
            if result.get("ok"):
                return result
            if result.get("status") == "rejected" or attempts > retries:
                status, reason = result.get("status") or "failed", result.get("reason")
                tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                raise ReleaseError(f"redeploy Lambda {function_name}: {status}: {reason}{tries}")
        if time.monotonic() > deadline:
            seen = (
                f"{attempts} attempt(s) started, the last result: {item['result']['S'][:300]}"
                if item.get("result")
                else f"{attempts} attempt(s) started, no result"
            )
            raise ReleaseError(
                f"redeploy Lambda {function_name}: no final result for release {release_id} "
                f"after {timeout_s:.0f} s "
                f"({seen}); see its log group /aws/lambda/{function_name} and its dead-letter queue"
            )
        time.sleep(poll_s)


def _maximum_retries(lambda_client: Any, function_name: str) -> int:
    """How often Lambda retries a failed asynchronous event: the function's setting, else 2."""
    try:
        config = lambda_client.get_function_event_invoke_config(FunctionName=function_name)
    except lambda_client.exceptions.ResourceNotFoundException:
        return 2
    return int(config.get("MaximumRetryAttempts", 2))


def wait_until_serving(
    sagemaker: Any, endpoint: str, model_data_url: str, timeout_s: float, poll_s: float
) -> dict:
    """Wait for the endpoint to be InService on a config whose model is `model_data_url`.

    The Lambda waited already; this checks the outcome from the outside, because a deploy tool can
    report success while the endpoint later fails or rolls back."""
    deadline = time.monotonic() + timeout_s
    while True:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        status = described["EndpointStatus"]
        if status == "InService":
            serving = serving_model_url(sagemaker, described["EndpointConfigName"])
            if serving != model_data_url:
                raise ReleaseError(
                    f"endpoint {endpoint} is InService but serves {serving}, not {model_data_url}: "
                    "the redeploy was rolled back or overtaken; see the redeploy Lambda's log"
                )
            return {"endpoint_config": described["EndpointConfigName"], "status": status}
        if status == "UpdateRollbackFailed":
            # It serves, on a mix of configs (DescribeEndpoint API reference): not this release.
            raise ReleaseError(
                f"endpoint {endpoint} is UpdateRollbackFailed (still serving, on a mix of the old and new "
                f"configs: {described.get('FailureReason', 'no reason given')}); release again to settle it"
            )
        if status in {"Failed", "OutOfService"}:
            raise ReleaseError(
                f"endpoint {endpoint} is {status}: {described.get('FailureReason', 'no reason given')}"
            )
        if time.monotonic() > deadline:
            raise ReleaseError(f"endpoint {endpoint} still {status} after {timeout_s:.0f} s")
        time.sleep(poll_s)


def serving_model_url(sagemaker: Any, config_name: str) -> str | None:
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    model_name = config["ProductionVariants"][0]["ModelName"]
    model = sagemaker.describe_model(ModelName=model_name)
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return container.get("ModelDataUrl")


def _redeploy_result(item: dict[str, Any], table: str, release_id: str) -> dict[str, Any]:
    """The result the redeploy Lambda wrote to the lock table: a JSON object, or a named error."""
    raw = item["result"].get("S") if isinstance(item["result"], dict) else None
    try:
        result = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        result = None
    if not isinstance(result, dict):
        raise ReleaseError(
            f"lock table {table} item result/{release_id}: its result is not the JSON object the redeploy "
            f"Lambda writes ({str(raw)[:120]!r}); something else wrote the table. Check the endpoint "
            "(make production-check) before releasing again"
        )
    return result


def smoke_test(runtime: Any, endpoint: str, commit: str, text: str = SMOKE_TEXT) -> dict[str, Any]:
    """One real request to the endpoint: it must classify the text and name the released model."""
    response = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps({"inputs": [text]}).encode(),
    )
    raw = response["Body"].read()
    try:
        answer = json.loads(raw)
        prediction = answer["predictions"][0]
        label, score = str(prediction["label"]), float(prediction["score"])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        raise ReleaseError(f"smoke request to {endpoint}: unexpected answer {raw[:300]!r}") from None
    # The serving contract's score is the softmax probability of the label (docs/serving.md): a
    # string, NaN, an infinity or a number outside [0, 1] is a broken model, which this request is for.
    if isinstance(prediction["score"], bool | str) or not 0 <= score <= 1 or not label:
        raise ReleaseError(
            f"smoke request to {endpoint}: the answer's label {label!r:.60} and score "
            f"{prediction['score']!r:.60} are not a label and a probability from 0 to 1 (the serving "
            "contract, docs/serving.md): the model answers wrongly, so the champion and the production "
            "record were not written; roll production back (a rollback pull request) and check the model"
        )
    version = str(answer.get("model_version", ""))
    # The server reports the version the redeploy Lambda gave the model (the commit, maybe shortened).
    same = len(version) >= 7 and (commit.startswith(version) or version.startswith(commit))
    if not same:
        raise ReleaseError(f"smoke request to {endpoint}: answered by model {version!r}, expected {commit}")
    return {"text": text, "label": label, "score": round(score, 4), "model_version": version}


def promote(
    commit: str,
    aws: AwsParams,
    targets: Targets,
    main_metric: str,
    wait_timeout_s: float = 900,
    # One DynamoDB GetItem or DescribeEndpoint per poll: cheap, and a release ends seconds sooner.
    poll_s: float = 2,
    task: str | None = None,
) -> dict[str, Any]:
    """The release: the commit's published model goes live, is checked, and becomes the champion
    (recorded with `task`, params.yaml's data.task, so a model of another task is not compared with it)."""
    commit = check_commit(commit)
    targets.check()
    artifact = Artifact(aws.published_models, commit)
    s3 = aws_client("s3", aws)
    manifest = find_artifact(commit, aws, s3)  # before anything touches the endpoint
    # The provenance is release-check's and production-check's, before this step; a person
    # promoting by hand (a model published with their own credentials) has only the digest checked.
    verify_archive(commit, manifest, aws, s3, provenance=False)
    with aws_errors(f"release of {commit} to {targets.endpoint_name}"):
        return _roll_out(s3, artifact, manifest, targets, aws, main_metric, wait_timeout_s, poll_s, task)


def _roll_out(
    s3: Any,
    artifact: Artifact,
    manifest: dict[str, Any],
    targets: Targets,
    aws: AwsParams,
    main_metric: str,
    wait_timeout_s: float,
    poll_s: float,
    task: str | None = None,
) -> dict[str, Any]:
    from textclf.review import champion

    commit = artifact.commit
    log(f"release {commit}: {artifact.url()} (sha256 {manifest['sha256'][:12]})")
    # The invocation is asynchronous (answered at once). No client retry: botocore's max_attempts
    # counts retries, total_max_attempts counts all attempts ("Retries", boto3 guide), so 1 means a
    # single request and a deploy is never queued twice by us; the Lambda is idempotent anyway.
    lambda_client = aws_client(
        "lambda", aws, read_timeout=60, connect_timeout=10, retries={"total_max_attempts": 1}
    )
    redeploy = invoke_redeploy(
        lambda_client,
        aws_client("dynamodb", aws),
        targets.function_name,
        {"model_data_url": artifact.url(), "model_version": commit, "sha256": manifest["sha256"]},
        poll_s=poll_s,
    )
    log(f"redeploy: {redeploy.get('status')} ({redeploy.get('reason', '')})")
    sagemaker = aws_client("sagemaker", aws)
    live = wait_until_serving(sagemaker, targets.endpoint_name, artifact.url(), wait_timeout_s, poll_s)
    smoke = smoke_test(aws_client("sagemaker-runtime", aws), targets.endpoint_name, commit)
    log(f"smoke request: {smoke['label']} ({smoke['score']}) from model {smoke['model_version']}")
    with tempfile.TemporaryDirectory(prefix="textclf-promote-") as work:
        metrics_file = Path(work) / METRICS_NAME
        s3.download_file(artifact.bucket, artifact.key(METRICS_NAME), str(metrics_file))
        champion.record(aws, metrics_file, commit, main_metric, task=task)
    deployment = {
        "commit": commit,
        "model_data_url": artifact.url(),
        "sha256": manifest["sha256"],
        "endpoint": targets.endpoint_name,
        "endpoint_config": live["endpoint_config"],
        "redeploy": {key: redeploy.get(key) for key in ("status", "reason", "rolled_back", "timings_s")},
        "smoke": smoke,
        "champion": champion.production_url(aws.artifacts_bucket),
        "deployed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    _put_json(s3, aws.artifacts_bucket, DEPLOYMENT_KEY, deployment)
    return deployment


def main(argv: list[str] | None = None) -> int:
    """`python -m textclf.release.promote stage-publish` (make publish in a pull request's run)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m textclf.release.promote")
    parser.add_argument("command", choices=["stage-publish"])
    parser.parse_args(argv)
    try:
        names = stage_publish()
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    log(f"{PUBLISH_DIR}: {', '.join(names)} (the training-run function publishes them with the job's model)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
