"""What `make repro` ends with: the run's results in one screen a person reads, at most 100 columns.

Accuracy and macro-F1 on the test split, each class's precision, recall and F1, the gate's verdict
with its reasons (thresholds, and the champion as `make gate` finds it), what training took, the
share of texts cut to `model.max_length` when prepare recorded it, the commands to go on with, and
last how to keep the run: the files git shows changed (`git add`), a branch when on main, and
`dvc push` only where a DVC remote is set up (read as DVC reads it: system, global, .dvc/config,
.dvc/config.local; the template's committed url is a placeholder). `make repro` drops DVC's own
hint (`git add dvc.lock`, `dvc push`), so these steps are the last thing it prints.
Every figure is read from the files the stages wrote (metrics/*.json) with the report's own reader
(`report.read_json`: a file the report refuses is refused here too); nothing is written. A
metrics/eval.json the gate refuses (`gate.check_metrics`: edited, stale, another data's classes)
gets no verdict: the summary says the gate cannot judge it, why, and what to run. A
metrics/eval.json the pipeline would not write now (params, code or data changed since the run, the
model gone, no dvc.lock: textclf.review.freshness) is refused as `make gate` refuses it (exit 2):
no verdict and no "To keep this run" for metrics of other params (issue 29). The wide
`dvc metrics show` table stays one command away (`make metrics`).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import unicodedata
from pathlib import Path
from typing import Any

from textclf.config import TRAIN_JOB_FILE, Params
from textclf.review import freshness
from textclf.review.champion import EVAL_METRICS_FILE, ChampionError, Source, find, released_base
from textclf.review.gate import GateError, check_metrics, data_rule_checks
from textclf.review.report import ReportError, read_json
from textclf.verdict import is_score, judge, usable

WIDTH = 100
DATA_METRICS_FILE = Path("metrics/data.json")
# The train stage's facts: reports/ (timings kept out of tracked files), metrics/ before that.
# Classes listed one a line; more are summed up (the worst first, so a weak class is never hidden).
MAX_CLASSES = 12
MAX_REASONS = 6
LABEL_WIDTH = 28
NEXT_COMMANDS = (
    ("make plots", "training curves and the confusion matrix in a browser (dvc_plots/index.html)"),
    ("make metrics", "every metric in one wide table (dvc metrics show)"),
    ("make report", "the pull-request report against main: reports/report.md"),
    ("make gate", "the gate as the pull request runs it (reports/gate.json)"),
    ("make serve", "this model behind the inference server, http://127.0.0.1:8080"),
)

# What a run or use-data changes that the commit keeps; listed in `git add` when git shows a change.
KEEP_PATHS = ("data.dvc", "params.yaml", "dvc.lock", "metrics", "plots")
# DVC's folder: .dvc/config (committed) and .dvc/config.local (git-ignored; `make dvc-remote` and
# `make setup-cloud` write the remote's real url there).
DVC_DIR = Path(".dvc")
# The template's committed remote (.dvc/config): a placeholder no push reaches (docs/aws.md).
PLACEHOLDER_REMOTE_URL = "s3://textclf-data/dvc"
OFFLINE = "offline, skip it"
# What GitHub's runner reads as a workflow command in a log line (for_the_log).
WORKFLOW_COMMAND, WORKFLOW_COMMAND_LEGACY = "::", "##["


class SummaryError(ValueError):
    """The metrics the summary reads are missing or not what the stages write."""


def printable(text: Any, limit: int | None = None) -> str:
    """`text` with control characters (a label's escape codes, tabs, newlines) shown as `?`, cut to
    `limit` characters with `...`."""
    shown = "".join("?" if unicodedata.category(char).startswith("C") else char for char in str(text))
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return shown


def _score(value: Any) -> str:
    return f"{value:.4f}" if is_score(value) else "-"


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        printable(text),
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,
    )


# As the train stage bounds what it reads back (textclf.pipeline.train's LONGEST_SECONDS and
# PLAUSIBLE_RATES, held equal by a test): beyond these a figure of reports/train_job.json is damaged or
# edited, and shown as "-" (1e308 samples/s was a 309-digit number: R13A-13).
LONGEST_SECONDS = 366 * 24 * 3600
PLAUSIBLE_RATES = (0.01, 100_000.0)  # samples/s


def duration(seconds: Any) -> str:
    if not usable(seconds) or not 0 <= seconds <= LONGEST_SECONDS:
        return "-"
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def class_lines(metrics: dict[str, Any]) -> list[str]:
    per_class = metrics.get("per_class")
    if not isinstance(per_class, dict) or not per_class:
        return ["Per class: not in metrics/eval.json"]
    rows = [(str(label), scores if isinstance(scores, dict) else {}) for label, scores in per_class.items()]
    width = min(max(len(printable(label)) for label, _ in rows), LABEL_WIDTH)
    width = max(width, len("class"))
    lines = [f"  {'class':<{width}}  precision  recall      F1  support"]
    shown = rows
    if len(rows) > MAX_CLASSES:
        # The weakest classes first: those are the ones to look at.
        shown = sorted(rows, key=lambda row: row[1].get("f1") if is_score(row[1].get("f1")) else -1)
        shown = shown[:MAX_CLASSES]
    for label, scores in shown:
        support = scores.get("support")
        lines.append(
            f"  {printable(label, width):<{width}}  {_score(scores.get('precision')):>9}"
            f"  {_score(scores.get('recall')):>6}  {_score(scores.get('f1')):>6}"
            f"  {support if usable(support) else '-':>7}"
        )
    if len(rows) > MAX_CLASSES:
        lines.append(
            f"  ... {len(rows) - MAX_CLASSES} more classes, the weakest F1 shown first (make metrics)"
        )
    return lines


def verdict_for(params: Params, metrics: dict[str, Any], base_ref: str, source: Source) -> dict[str, Any]:
    """The gate's verdict as `make gate` reaches it, without writing reports/gate.json: thresholds,
    the champion and the data rules review.data_gate sets (the data checks run only then). A
    champion that cannot be looked up (no `main` in this clone, a base that is no commit, an
    unreadable bucket) stops `make gate` (exit 2): the verdict then holds the thresholds' result and
    `refused`, why the gate cannot judge."""
    # The data rules compare with what main released, as the champion does (find notes the base).
    rules = data_rule_checks(params, released_base(base_ref).ref, None, metrics)
    try:
        lookup = find(params.aws.resolved(), base_ref, source, candidate=metrics, task=params.data.task)
    except ChampionError as error:
        verdict = judge(metrics, params.evaluate, None, rules, serve=params.deploy.serve)
        verdict["refused"] = str(error)
        return verdict
    verdict = judge(metrics, params.evaluate, lookup.champion, rules, serve=params.deploy.serve)
    verdict["notes"].insert(0, lookup.note)
    return verdict


def refused_lines(error: GateError) -> list[str]:
    """The gate's line when the gate refuses the metrics (check_metrics): no verdict to show, only
    why and what to run (the error says both)."""
    lines = [f"Gate: CANNOT JUDGE ({EVAL_METRICS_FILE}; make gate refuses it, exit 2)"]
    return lines + _wrapped(str(error), "  refused: ", "    ")


def gate_lines(verdict: dict[str, Any]) -> list[str]:
    result = "PASS" if verdict.get("verdict") == "pass" else "FAIL"
    champion = verdict.get("champion")
    parts = ["thresholds"]
    parts += [f"{champion.get('origin')}'s {verdict.get('main_metric')}"] if champion else []
    checks = verdict.get("checks") or []
    parts += ["review.data_gate"] if any(str(c.get("check")).startswith("data: ") for c in checks) else []
    judged = f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else "thresholds only"
    lines = [f"Gate: {result} ({judged})"]
    if verdict.get("refused"):
        # make gate stops before a verdict: never a bare PASS here (what the thresholds say follows).
        lines = [f"Gate: CANNOT JUDGE (no champion: make gate stops, exit 2); {judged}: {result}"]
        lines += _wrapped(verdict["refused"], "  refused: ", "    ")
    reasons = list(verdict.get("reasons") or [])
    for reason in reasons[:MAX_REASONS]:
        lines += _wrapped(reason, "  failed: ", "    ")
    if len(reasons) > MAX_REASONS:
        lines.append(f"  ... and {len(reasons) - MAX_REASONS} more failed checks (make gate lists them all)")
    for note in verdict.get("notes") or []:
        lines += _wrapped(note, "  note: ", "    ")
    return lines


def training_line(job: dict[str, Any] | None) -> str:
    if job is None:
        return f"Training: no {TRAIN_JOB_FILE}: not trained in this workspace (restored from the DVC cache)"
    if not job:  # the file is there, empty: say so, as the report does (round 8, U-j1)
        return f"Training: {TRAIN_JOB_FILE} holds no job facts; train again (dvc repro --force train)"
    if job.get("backend") == "sagemaker" or job.get("training_seconds") is not None:
        parts = [f"SageMaker job {printable(job.get('job_name') or job.get('training_job_name') or '-', 40)}"]
        parts.append(f"training {duration(job.get('training_seconds'))}")
        parts.append(f"billable {duration(job.get('billable_seconds'))}")
        cost = job.get("estimated_cost_usd")
        if usable(cost):
            parts.append(f"about ${cost:.2f}")
        return "Training: " + ", ".join(parts)
    hardware = job.get("hardware") if isinstance(job.get("hardware"), dict) else {}
    parts = [f"{duration(job.get('wall_seconds'))} wall, {duration(job.get('train_seconds'))} training"]
    speed = job.get("train_samples_per_second")
    if usable(speed) and PLAUSIBLE_RATES[0] <= speed <= PLAUSIBLE_RATES[1]:
        parts.append(f"{speed:.1f} samples/s")
    accelerator = hardware.get("accelerator")
    cores = hardware.get("cpu_count")
    parts.append(
        f"on {printable(accelerator, 30)}"
        if accelerator
        else f"on {cores if isinstance(cores, int) and 0 < cores <= 100_000 else '?'} CPU cores"
    )
    return "Training (local): " + ", ".join(parts)


def truncation_line(data: dict[str, Any] | None, metrics: dict[str, Any], max_length: int) -> str | None:
    """The share of texts longer than model.max_length tokens, when prepare recorded it
    (metrics/data.json `truncation`: {"share": 0..1, "max_length": n}), and what the cut costs on
    the test split when evaluate recorded it (metrics/eval.json `truncation`)."""
    recorded = (data or {}).get("truncation")
    share = recorded.get("share") if isinstance(recorded, dict) else None
    if not is_score(share):
        return None
    limit = recorded.get("max_length")
    limit = limit if usable(limit) else max_length
    if share == 0:
        return f"Truncated: no text is longer than {limit} tokens (model.max_length)"
    line = f"Truncated: {share:.1%} of texts are longer than {limit} tokens (model.max_length)"
    line += "; the model sees their start only"
    test = metrics.get("truncation") if isinstance(metrics.get("truncation"), dict) else {}
    rows = test.get("truncated_rows")
    if usable(rows) and rows > 0:
        line += (
            f"; test accuracy {_score(test.get('accuracy_truncated'))} on the {rows} cut texts, "
            f"{_score(test.get('accuracy_rest'))} on the rest"
        )
    return line


# A failed gate's next step (issue 29: a newcomer's task failed the sample's thresholds after the
# sample's 2 epochs, and the summary went on to "To keep this run" as if all were well).
FAILED_GATE_ADVICE = (
    "a pull request with this run fails its gate. params.yaml's evaluate.thresholds and train.epochs "
    "were set for the bundled sample: train longer (train.epochs; train.backend: sagemaker trains "
    "faster), fix the data the report flags, or set the thresholds your task must meet"
)


def new_task_bar(params: Params, verdict: dict[str, Any]) -> str | None:
    """On a passing new task (judged on the thresholds alone), the bar it passed and where it is
    set (issue 29: a newcomer's new task passed on accuracy 0.8500 against the 0.85 the template set
    for its bundled sample, and nothing at the end said the bar was not the task's own)."""
    notes = verdict.get("notes") or []
    if (
        verdict.get("verdict") != "pass"
        or verdict.get("champion")
        or not any(str(note).startswith("new task") for note in notes)
    ):
        return None
    bar = params.evaluate.thresholds
    return (
        f"judged on evaluate.thresholds alone (accuracy >= {bar.accuracy:g}, macro_f1 >= "
        f"{bar.macro_f1:g}, each class's recall >= {bar.min_class_recall:g}): the template set them for "
        "its bundled sample; set the ones your task must meet in params.yaml"
    )


def lines(params: Params, base_ref: str = "main", source: Source = "auto") -> list[str]:
    metrics = read_json(EVAL_METRICS_FILE)
    if metrics is None:
        raise SummaryError(
            f"{EVAL_METRICS_FILE}: not found; run the pipeline first (make repro or dvc repro)"
        )
    # Metrics of other params, data or code get no verdict and no "To keep this run": a commit of
    # params.yaml with them would record a result its params never produced (issue 29).
    unchecked = freshness.check()  # a note when there is no pipeline here to check against
    rows = metrics.get("test_rows")
    heading = f"Test split ({rows} rows)" if usable(rows) else "Test split"
    out = ["", "=" * 30 + " textclf: this run " + "=" * 30]
    out += _wrapped(unchecked, "note: ", "  ") if unchecked else []
    out += class_lines(metrics)
    out.append(
        f"{heading}: accuracy {_score(metrics.get('accuracy'))}, macro-F1 {_score(metrics.get('macro_f1'))}"
    )
    try:
        # What the gate requires before it judges: a file it refuses has no verdict here either.
        check_metrics(params, metrics)
    except GateError as error:
        out += refused_lines(error)
    else:
        verdict = verdict_for(params, metrics, base_ref, source)
        out += gate_lines(verdict)
        if verdict.get("verdict") != "pass" and not verdict.get("refused"):
            out += _wrapped(FAILED_GATE_ADVICE, "  what to do: ", "    ")
        bar = new_task_bar(params, verdict)
        if bar:
            out += _wrapped(bar, "  check: ", "    ")
    try:
        out.append(training_line(read_json(TRAIN_JOB_FILE)))
    except ReportError as error:
        # The train stage's own record, no metric depends on it: a damaged one is no reason to refuse
        # the metrics, the gate's verdict and the next steps (R13A-13).
        out += _wrapped(
            f"Training: not shown: {error}; it is the train stage's record only: delete it, and the next "
            "training writes it again",
            "",
            "  ",
        )
    truncated = truncation_line(read_json(DATA_METRICS_FILE), metrics, params.model.max_length)
    if truncated:
        out += _wrapped(truncated, "", "  ")
    out.append("Next:")
    out += [f"  {command:<13} {what}" for command, what in NEXT_COMMANDS]
    out += keep_lines()
    return [for_the_log(line) for line in out]


def for_the_log(line: str) -> str:
    """`line` as a CI job's log may show it: in a GitHub Actions job (GITHUB_ACTIONS=true), a line
    starting with `::` after its blanks, or holding `##[` anywhere, is broken up (`: :`, `## [`).
    GitHub's runner reads such a line as a workflow command (actions/runner, ActionCommand.TryParseV2
    trims the line's start and looks for `::`; the legacy TryParse looks for `##[` anywhere; GitHub
    docs, "Workflow commands for GitHub Actions"): a class name starts the lines of the per-class
    table, and a wrapped reason or note may start a line with one (issue 27, R-e). cli.log breaks
    `##[` in the same way; its lines start with `[textclf]`."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return line
    line = line.replace(WORKFLOW_COMMAND_LEGACY, "## [")
    body = line.lstrip()
    if body.startswith(WORKFLOW_COMMAND):
        line = line[: len(line) - len(body)] + ": :" + body[len(WORKFLOW_COMMAND) :]
    return line


def _git(*args: str) -> str | None:
    """git's output, or None outside a git checkout (or without git)."""
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def changed_paths() -> list[str] | None:
    """KEEP_PATHS that git shows modified or new, in KEEP_PATHS' order; None outside git."""
    status = _git("status", "--porcelain", "--untracked-files=all", "--", *KEEP_PATHS)
    if status is None:
        return None
    tops = set()
    for line in status.splitlines():
        path = line[3:].split(" -> ")[-1].strip('"')
        tops.add(path.split("/", 1)[0])
    return [path for path in KEEP_PATHS if path in tops]


def dvc_remote_url(dvc_dir: Path = DVC_DIR) -> str | None:
    """The url of the remote `dvc push` would use here, or None: no remote set up.

    Read as DVC reads its configuration, with DVC's own reader (dvc.config.Config; no network):
    the system, global, repo (.dvc/config) and local (.dvc/config.local) files, a later level
    overriding an earlier one, the global and system folders where DVC looks for them
    (DVC_GLOBAL_CONFIG_DIR, DVC_SYSTEM_CONFIG_DIR, else the platform's); `dvc push` uses the
    default remote, `core.remote`. The template's placeholder counts as no remote while it is only
    the committed .dvc/config's value: set at another level (`make dvc-remote` writes the same url
    for a bucket of that name), it is the user's. An unreadable configuration is no remote: DVC
    itself will name the file and the error when pushed."""
    from dvc.config import Config
    from dvc.exceptions import DvcException

    try:
        config = Config(dvc_dir=str(dvc_dir), local_dvc_dir=str(dvc_dir), validate=False)
        name = config["core"].get("remote")
        url = (config["remote"].get(name) or {}).get("url") if name else None
        if not isinstance(url, str) or not url.strip():
            return None
        origin = next(
            level
            for level in reversed(Config.LEVELS)
            if "url" in (config.read(level).get("remote", {}).get(name) or {})
        )
    except (DvcException, OSError, ValueError, TypeError, AttributeError, StopIteration):
        return None
    if origin == "repo" and url.strip() == PLACEHOLDER_REMOTE_URL:
        return None
    return url.strip()


def keep_lines() -> list[str]:
    """How to keep this run, the summary's last lines: commit what changed (on a branch of its own
    when on main: the report compares with main), and `dvc push` only with a DVC remote set up."""
    changed = changed_paths()
    if changed is None:
        return []
    if not changed:
        return [f"Nothing to commit: {', '.join(KEEP_PATHS)} are as committed"]
    out = ["To keep this run:"]
    branch = (_git("branch", "--show-current") or "").strip()
    if branch in ("main", "master"):
        out.append(f"  git switch -c my-data  # you are on {branch}; the report compares with main")
    out.append(f"  git add {' '.join(changed)} && git commit")
    url = dvc_remote_url()
    if url:
        out.append(f"  dvc push               # the data and model to the DVC remote, {printable(url, 40)}")
    else:
        out.append(f"  dvc push               # once a DVC remote is set up (make setup-cloud); {OFFLINE}")
    return out
