"""The pull-request report: one markdown comment that lets a reviewer decide to merge.

`textclf report` (`make report`) compares the workspace with a base ref (`main`) and the
production model, and writes `reports/report.md` plus the full gate verdict `reports/gate.json`.
The PR workflow posts the file with `cml comment update`, so each push edits one comment.

Sections: the verdict and the main metric (this PR vs production vs main); the metrics diff
(`dvc metrics diff`) and changed params (`dvc params diff`); per-class scores and the confusion
matrix; training curves as Mermaid charts (GitHub renders them, so no image leaves the
repository); the data per split and class; the data checks (shifts, leakage, suspected label
errors: textclf.review.data_checks); the training job; links.

`collect` gathers everything (git, DVC, the champion); `render` is pure, so every section can be
checked on its own; `write` does both and replaces the report atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textclf import atomic
from textclf.config import (
    PARAMS_FILE,
    TRAIN_JOB_FILE,
    Params,
    ParamsError,
    read_params_bytes,
    read_yaml_bounded,
)
from textclf.review import data_checks, gate
from textclf.review.champion import (
    COMMIT,
    EVAL_METRICS_FILE,
    Source,
    base_is_other_task,
    committed_json,
    released_base,
    resolve_ref,
)
from textclf.review.champion import check_eval as champion_shape
from textclf.review.champion import counts as _counts
from textclf.review.champion import number_or_none as _number_or_none
from textclf.review.data_checks import code

REPORT_FILE = Path("reports/report.md")
# The PR workflow uploads the `dvc plots diff` page under this name (.github/workflows/pr.yml).
PLOTS_ARTIFACT = "dvc-plots"
WATERMARK_TITLE = "textclf report"
# GitHub refuses comments over 65,536 characters; CML appends a watermark line to ours.
COMMENT_LIMIT = 60_000
DATA_METRICS_FILE = Path("metrics/data.json")
TRAIN_METRICS_FILE = Path("metrics/train.json")
# The train stage's run facts (textclf.pipeline.train.JOB_FACTS_FILE): outside git and DVC.
# Both graphs' speed, written by the evaluate stage outside the tracked files (timings differ on
# every run): textclf.pipeline.evaluate.LATENCY_FILE.
LATENCY_FILE = Path("reports/latency.json")
GRAPH_NAMES = {"none": "fp32", "int8": "int8"}
# dvc.yaml's other metrics files: only `dvc metrics diff` reads them, with no bound on their size or
# kind, so they are read here first (a device or pipe in their place is refused by read_json).
DVC_ONLY_METRICS_FILES = (Path("metrics/gate.json"), Path("metrics/reference.json"))
TRAIN_LOSS_PLOT = Path("plots/train_loss.csv")
VALIDATION_PLOT = Path("plots/validation.csv")
# The metrics table: these files, minus keys under these prefixes (they have their own sections).
METRICS_TABLE = {
    EVAL_METRICS_FILE.as_posix(): ("per_class.", "graphs.", "serving.", "truncation.", "served_files."),
    TRAIN_METRICS_FILE.as_posix(): (),
}
MAX_CHART_POINTS = 40
# Explicit line colours: Mermaid's default light-theme line colour (#ECECFF) is invisible on
# white. Both keep a contrast of at least 3:1 on GitHub's light and dark backgrounds.
LINE_COLOUR = "#3b82f6"
THRESHOLD_COLOUR = "#e5534b"
# A wider confusion matrix is unreadable in a comment: the most frequent mistakes are listed instead.
MAX_CONFUSION_CLASSES = 20
# Longer class names make the confusion matrix number its columns instead of naming them.
MAX_HEADER_LABEL = 16
# Up to this many classes the matrix reads at a glance and comes first; above, the pairs do.
FEW_CLASSES = 3
MAX_PAIRS = 5
# Off-diagonal cells marked in the matrix: the largest mistakes by share of the actual class.
MARKED_MISTAKES = 3
SPLITS = ("train", "validation", "test")
OPERATORS = {">=": "≥", "<=": "≤"}
MAX_REASONS = 10


class ReportError(RuntimeError):
    """An input of the report is missing or malformed, or a git/DVC command failed."""


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Links:
    run_url: str | None = None
    commit: str | None = None
    commit_url: str | None = None


@dataclass
class Inputs:
    """Everything the report shows; `render` reads nothing else."""

    params: Params
    base_ref: str
    base_commit: str
    candidate: dict[str, Any]
    verdict: dict[str, Any]
    metrics_diff: dict[str, Any] = field(default_factory=dict)
    params_diff: dict[str, Any] = field(default_factory=dict)
    base_eval: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    base_data: dict[str, Any] | None = None
    train: dict[str, Any] | None = None
    train_job: dict[str, Any] | None = None
    train_loss: list[dict[str, float]] = field(default_factory=list)
    validation: list[dict[str, float]] = field(default_factory=list)
    links: Links = Links()
    # textclf.review.data_checks: its results, or why they could not be computed.
    data_checks: dict[str, Any] | str | None = None
    # reports/latency.json: each graph's speed in the evaluate run that wrote the metrics.
    latency: dict[str, Any] | None = None
    # The base's metrics are another task's (no class in common): nothing is compared with them.
    new_task: bool = False
    # Why base_ref is not the base asked for (champion.released_base: origin/main for a local main
    # that is not what main released).
    base_note: str | None = None


def _dvc_json(args: list[str]) -> subprocess.Popen[str]:
    # `python -m dvc`: the DVC of this environment, whatever PATH says.
    return subprocess.Popen(
        [sys.executable, "-m", "dvc", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# DVC's diffs take seconds; one running for minutes reads something it should not (R14A-8).
DVC_SECONDS = 300


def _finish(process: subprocess.Popen[str], what: str) -> dict[str, Any]:
    try:
        stdout, stderr = process.communicate(timeout=DVC_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise ReportError(
            f"`{what}` ran for more than {DVC_SECONDS} s and was stopped; run it by hand to see what it "
            "reads (a file of the base far larger than the pipeline writes?)"
        ) from None
    if process.returncode != 0:
        raise ReportError(f"`{what}` failed (exit {process.returncode}): {stderr.strip()[-2000:]}")
    try:
        # DVC writes NaN for a metric that is not a number; Python's json reads it back as nan.
        return json.loads(stdout or "{}")
    except ValueError as error:
        raise ReportError(f"`{what}` printed something that is not JSON: {error}") from None


def dvc_diffs(base_ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`dvc metrics diff` (every metric, changed or not) and `dvc params diff` against `base_ref`,
    run side by side: each spends most of its time starting up. The base's YAML files DVC reads are
    checked first (check_base_yaml), and neither runs longer than DVC_SECONDS."""
    check_base_yaml(base_ref)
    metrics = _dvc_json(["metrics", "diff", base_ref, "--all"])
    params = _dvc_json(["params", "diff", base_ref])
    try:
        return (
            _finish(metrics, f"dvc metrics diff {base_ref}"),
            _finish(params, f"dvc params diff {base_ref}"),
        )
    finally:
        for process in (metrics, params):
            if process.poll() is None:
                process.kill()
                process.wait()


# The base's YAML files `dvc metrics diff` and `dvc params diff` read there.
BASE_YAML_FILES = (PARAMS_FILE, Path("dvc.yaml"), Path("dvc.lock"))


def check_base_yaml(base_ref: str) -> None:
    """The base's params.yaml (as this workspace's is read: config.read_params_bytes), dvc.yaml and
    dvc.lock (size and alias expansion) before DVC reads them: an alias bomb of 500 bytes in the
    base's params.yaml had both DVC diffs grow by 20 MB/s for minutes (R14A-8)."""
    for path in BASE_YAML_FILES:
        shown = subprocess.run(["git", "show", f"{base_ref}:./{path.as_posix()}"], capture_output=True)
        if shown.returncode != 0:
            continue  # not at the base: DVC finds nothing to read there either
        where = f"{base_ref}:{path}"
        try:
            if path == PARAMS_FILE:
                read_params_bytes(shown.stdout, where)
            else:
                read_yaml_bounded(shown.stdout, where)
        except ParamsError as error:
            raise ReportError(
                f"{error} (DVC's diffs would read it as it is); fix it on {base_ref}, or compare with "
                "another base (--base)"
            ) from None


def read_json(path: Path) -> dict[str, Any] | None:
    """A workspace JSON file, or None when the pipeline did not write it."""
    data = b""
    try:
        # Bounded, regular files only (as the gate reads them): a link to /dev/zero was read without
        # end and a FIFO blocked `textclf summary` and `report` for ever.
        data = atomic.read_regular(path, atomic.MAX_JSON_BYTES)
        payload = json.loads(data.decode("utf-8"), object_pairs_hook=atomic.unique_keys)
    except FileNotFoundError:
        return None
    except atomic.DuplicateKey as duplicate:
        raise ReportError(f"{path}: key {duplicate.key!r} is given twice in one object; keep one") from None
    except OSError as error:
        raise ReportError(
            f"{path}: cannot be read ({error.strerror}); run the pipeline (dvc repro)"
        ) from None
    except ValueError as error:  # also bytes that are not UTF-8; empty, or saved with a BOM
        raise ReportError(atomic.json_refusal(path, data, error, "run the pipeline (dvc repro)")) from None
    except RecursionError:
        raise ReportError(f"{path}: nested too deeply to be the pipeline's metrics") from None
    if not isinstance(payload, dict):
        raise ReportError(f"{path}: expected a JSON object, not {_kind(payload)}; {RUN_AGAIN}")
    check_numbers(payload, str(path))
    return payload


# The end of a refusal of a file the pipeline writes (R13A-5: some named neither the key nor this).
RUN_AGAIN = "the pipeline writes no such value: run it again (dvc repro)"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**12 else "a huge integer"
    return text if len(text) <= 40 else text[:40] + "..."


def _classes_problem(classes: Any) -> str | None:
    """The first key of metrics/data.json's `classes` that is not a split of counts per class."""
    if not isinstance(classes, dict):
        return f"classes is {_kind(classes)}"
    for name, split in classes.items():
        if not isinstance(split, dict):
            return f"classes.{name} is {_kind(split)}"
        for label, count in split.items():
            if not _counts(count):
                return f"classes.{name}.{label} is {_shown(count)}"
    return None


def _first_bad(part: Any, good: Callable[[Any], bool], prefix: str) -> str:
    """`prefix.key is <value>` for the first entry of `part` that is not `good`, or what `part` is."""
    if not isinstance(part, dict):
        return f"{prefix} is {_kind(part)}"
    key, value = next((k, v) for k, v in part.items() if not good(v))
    return f"{prefix}.{key} is {_shown(value)}"


def check_numbers(value: Any, where: str) -> None:
    """Every number a float can hold (DVC and the charts read them as floats): an integer of 400
    digits is refused naming its key, not an OverflowError deep inside DVC."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack += [(child, f"{path}.{key}" if path else str(key)) for key, child in node.items()]
        elif isinstance(node, list):
            stack += [(child, f"{path}[{index}]") for index, child in enumerate(node)]
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > 2**53:
            raise ReportError(
                f"{where}: {path or 'the value'}: an integer too large for a metric "
                f"({node.bit_length()} bits); the pipeline writes no such number: run it again (dvc repro)"
            )


def check_eval(payload: dict[str, Any], where: str) -> None:
    """metrics/eval.json in the shape the evaluate stage writes, else ReportError naming the key."""
    champion_shape(payload, where, ReportError)


def check_data(payload: dict[str, Any], where: str) -> None:
    """metrics/data.json in the shape the prepare stage writes, else ReportError naming the key."""
    for key in ("rows", "dropped"):
        part = payload.get(key)
        if part is not None and (not isinstance(part, dict) or not all(map(_counts, part.values()))):
            bad = _first_bad(part, _counts, key)
            raise ReportError(
                f"{where}: {key} must map names to counts (whole numbers >= 0): {bad}; {RUN_AGAIN}"
            )
    classes = payload.get("classes")
    bad = None if classes is None else _classes_problem(classes)
    if bad is not None:
        raise ReportError(f"{where}: classes must map each split to counts per class: {bad}; {RUN_AGAIN}")
    chars = payload.get("text_chars")
    if chars is not None and (not isinstance(chars, dict) or not all(map(_number_or_none, chars.values()))):
        bad = _first_bad(chars, _number_or_none, "text_chars")
        raise ReportError(f"{where}: text_chars must map percentiles to numbers: {bad}; {RUN_AGAIN}")


def check_job(payload: dict[str, Any], where: str) -> None:
    """reports/train_job.json: objects and lists only where the train stage writes them."""
    for key in ("hardware", "sagemaker", "cost"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise ReportError(f"{where}: {key} must be an object, not {_kind(payload[key])}; {RUN_AGAIN}")
    phases = payload.get("phases")
    if phases is not None and (not isinstance(phases, list) or not all(isinstance(p, dict) for p in phases)):
        raise ReportError(f"{where}: phases must be a list of objects; {RUN_AGAIN}")


def read_curve(path: Path) -> list[dict[str, float]]:
    """Rows of a plot CSV with a numeric `step`; other columns as floats (NaN when not numbers)."""
    try:
        text = atomic.read_regular(path, atomic.MAX_JSON_BYTES).decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except FileNotFoundError:
        return []
    except (OSError, ValueError, csv.Error) as error:  # not UTF-8, a folder, a NUL byte
        raise ReportError(
            f"{path}: not a CSV file of the pipeline ({error}); run it again (dvc repro)"
        ) from None
    curve = []
    for row in rows:
        try:
            step = float(row.get("step") or "")
        except ValueError:
            continue
        curve.append({key: _to_float(value) for key, value in row.items() if key} | {"step": step})
    return curve


def _to_float(value: str | None) -> float:
    try:
        return float(value or "nan")
    except ValueError:
        return math.nan


def github_links(env: Mapping[str, str], commit: str | None) -> Links:
    """Links from the GitHub Actions environment; plain facts when run elsewhere."""
    server, repository, run_id = (
        env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    base = f"{server}/{repository}" if server and repository else None
    run_url = f"{base}/actions/runs/{run_id}" if base and run_id else None
    attempt = env.get("GITHUB_RUN_ATTEMPT")
    if run_url and attempt and attempt != "1":
        run_url += f"/attempts/{attempt}"
    commit_url = f"{base}/commit/{commit}" if base and commit else None
    return Links(run_url=run_url, commit=commit, commit_url=commit_url)


def head_commit(explicit: str | None) -> str | None:
    """The commit the model came from: given explicitly (CI passes the PR head, not the merge
    commit GitHub checks out), else HEAD when the workspace's tracked files are as committed, else
    None (the report then says the workspace: an edited params.yaml is no commit's model)."""
    if explicit:
        if not COMMIT.fullmatch(explicit):
            shown = (
                repr(explicit)
                if len(explicit) <= 60
                else f"{explicit[:60]!r}... ({len(explicit):,} characters)"
            )
            raise ReportError(
                f"--commit-sha {shown}: expected a git commit (7-40 lowercase hex digits; make: COMMIT=)"
            )
        # A commit of this repository, named in full: the report links it and says the model came
        # from it, so hex digits that name nothing here (or a tree or blob) are refused.
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{explicit}^{{commit}}"],
            capture_output=True,
            text=True,
        )
        if found.returncode != 0:
            raise ReportError(
                f"--commit-sha {explicit}: no commit of this repository has that sha (or a short one names "
                "several); pass the commit the model was trained from (CI: the PR head, with its history "
                "fetched: actions/checkout fetch-depth: 0), or leave --commit-sha out for HEAD"
            )
        return found.stdout.strip()
    result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    return None if changed.returncode != 0 or changed.stdout.strip() else result.stdout.strip()


def collect(
    params: Params,
    base_ref: str = "main",
    source: Source = "auto",
    commit_sha: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Inputs:
    # Everything is compared with what main released: origin/main for a local main not at it (the
    # gate, given the base asked for, finds the same and notes it with its champion).
    asked, base = base_ref, released_base(base_ref)
    base_ref = base.ref
    base_commit = resolve_ref(base_ref)
    candidate = read_json(EVAL_METRICS_FILE)
    if candidate is None:
        raise ReportError(f"{EVAL_METRICS_FILE}: not found; run the pipeline (dvc repro) before the report")
    check_eval(candidate, str(EVAL_METRICS_FILE))
    data, train, train_job = (
        read_json(path) for path in (DATA_METRICS_FILE, TRAIN_METRICS_FILE, TRAIN_JOB_FILE)
    )
    if data is not None:
        check_data(data, str(DATA_METRICS_FILE))
    if train_job is not None:
        check_job(train_job, str(TRAIN_JOB_FILE))
    for path in DVC_ONLY_METRICS_FILES:  # refused before DVC reads them without a bound
        read_json(path)
    base_eval, base_data = (_committed(base_ref, path) for path in (EVAL_METRICS_FILE, DATA_METRICS_FILE))
    # The base's other metrics files `dvc metrics diff` reads: an integer of 400 digits in its
    # train.json stopped DVC with "int too large to convert to float", naming no file (R14A-5).
    for path in (TRAIN_METRICS_FILE, *DVC_ONLY_METRICS_FILES):
        _committed(base_ref, path)
    metrics_diff, params_diff = dvc_diffs(base_ref)
    new_task = base_is_other_task(params.data.task, base_ref, candidate, base_eval)
    if new_task:  # the gate says so too (textclf.review.champion.task_change)
        base_eval = base_data = None
        metrics_diff = {}
    checks = _data_checks(params, base_ref, compare=not new_task)
    return Inputs(
        params=params,
        base_ref=base_ref,
        base_commit=base_commit,
        candidate=candidate,
        verdict=gate.run(params, asked, source, data_checks=checks),
        metrics_diff=metrics_diff,
        params_diff=params_diff,
        base_eval=base_eval,
        data=data,
        base_data=base_data,
        train=train,
        train_job=train_job,
        train_loss=read_curve(TRAIN_LOSS_PLOT),
        validation=read_curve(VALIDATION_PLOT),
        links=github_links(os.environ if env is None else env, head_commit(commit_sha)),
        data_checks=checks,
        latency=_latency(candidate),
        new_task=new_task,
        base_note=base.note,
    )


def _latency(candidate: dict[str, Any]) -> dict[str, Any] | None:
    """reports/latency.json when it measured the graphs these metrics judged (same SHA-256)."""
    latency = read_json(LATENCY_FILE)
    graphs = (latency or {}).get("graphs")
    served = (
        (candidate.get("graph") or {}).get("sha256") if isinstance(candidate.get("graph"), dict) else None
    )
    if not isinstance(graphs, dict) or not all(isinstance(g, dict) for g in graphs.values()):
        return None
    # A digest is a text: a list or an object there was "unhashable type" from a set (R14A-11).
    measured = [g.get("sha256") for g in graphs.values() if isinstance(g.get("sha256"), str)]
    if not isinstance(served, str) or served not in measured:
        return None  # timings of another model (or not of these graphs): not shown next to these metrics
    return latency


def _committed(base_ref: str, path: Path) -> dict[str, Any] | None:
    """`base_ref`'s committed file, checked as this PR's is: numbers DVC can read, and the shape of
    the evaluate and prepare stages' metrics."""
    payload = committed_json(base_ref, path)
    if payload is not None:
        where = f"{base_ref}:{path}"
        check_numbers(payload, where)
        shape = {EVAL_METRICS_FILE: check_eval, DATA_METRICS_FILE: check_data}.get(path)
        if shape is not None:
            shape(payload, where)
    return payload


def _data_checks(params: Params, base_ref: str, compare: bool = True) -> dict[str, Any] | str:
    """The data checks, or what kept them from running (the rest of the report still renders)."""
    try:
        return data_checks.run(Path(params.data.prepared_dir), base_ref, compare=compare)
    except data_checks.DataCheckError as error:
        return str(error)


# ---------------------------------------------------------------------------------------------
# Markdown building blocks

# Characters that would start markup inside a table cell or a sentence. An `@` gets a zero-width
# space after it: GitHub turns `@name` in a comment into a mention that notifies that user or team
# (a label `@admin` from the data would); `@\u200bname` reads the same and mentions no one.
_MARKUP = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~"} | {"\n": " ", "\r": " ", "@": "@\u200b"})


# GitHub's autolinks (GFM "Autolinks (extension)": www., a scheme's ://, mailto: and xmpp:) make a
# label such as https://evil.example/login a clickable link in the bot's comment: a zero-width space
# after `www` and the scheme's colon reads the same and links nowhere (issue 27, round 9, U-m1).
_AUTOLINK = re.compile(r"(?i)(?<=www)(?=\.)|(?<=:)(?=//)|(?<=mailto)(?=:)|(?<=xmpp)(?=:)")


def md(text: Any) -> str:
    """Text from data or config, escaped so it renders as written, cannot break a table, mention
    anyone or become a link."""
    return _AUTOLINK.sub("\u200b", str(text).translate(_MARKUP))


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """A GitHub table; cells must already be escaped (see `md`)."""
    align = align or ["---"] + ["--:"] * (len(header) - 1)
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt(value: Any) -> str:
    """A metric value: 4 decimals for scores, fewer for big numbers, `NaN` and `—` for the rest."""
    if value is None:
        return "—"
    if not is_number(value):
        return md(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if abs(value) < 10:
        return f"{value:.4f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def fmt_change(new: Any, old: Any) -> str:
    """new − old with a sign; `new`/`removed` when one side is missing."""
    if old is None and new is None:
        return ""
    if old is None:
        return "new"
    if new is None:
        return "removed"
    if not (is_number(new) and is_number(old)):
        return "changed" if new != old else ""
    delta = new - old
    if math.isnan(delta):
        return "NaN"
    if delta == 0:
        return "0"
    text = fmt(abs(delta))
    return ("+" if delta > 0 else "−") + text


def with_change(new: Any, old: Any, compare: bool) -> str:
    """`0.9574 (+0.0100)`; the value alone when there is nothing to compare with."""
    change = fmt_change(new, old) if compare else ""
    return fmt(new) if change in {"", "new", "0"} else f"{fmt(new)} ({change})"


def duration(seconds: Any) -> str:
    if not gate.usable(seconds):
        return "—"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def link(text: str, url: str | None) -> str:
    # Inside a link's text GitHub links nothing else (a link holds no link), so a URL shown there
    # keeps its plain form (copied from the page, it works); elsewhere md() breaks autolinks.
    return f"[{str(text).translate(_MARKUP)}]({url})" if url else md(text)


def details(summary: str, body: str, open_: bool = False) -> str:
    # The blank lines let GitHub render the markdown inside the HTML block.
    return f"<details{' open' if open_ else ''}><summary>{summary}</summary>\n\n{body}\n\n</details>"


# ---------------------------------------------------------------------------------------------
# Section 1: headline and gate


def _champion_row(verdict: dict[str, Any], main_metric: str, candidate: Any) -> list[str] | None:
    champion = verdict.get("champion")
    if not champion or champion.get("origin") != "production":
        return None
    version = str(champion.get("model_version") or "unknown")[:12]
    recorded = str(champion.get("recorded_at") or "unknown")
    value = champion.get(main_metric)
    change = fmt_change(candidate, value) if value is not None else ""
    return [f"production (model {md(version)}, recorded {md(recorded)})", fmt(value), change]


def section_headline(inputs: Inputs, compact: bool = False) -> str:
    verdict, main_metric = inputs.verdict, inputs.verdict["main_metric"]
    passed = verdict["verdict"] == "pass"
    candidate = inputs.candidate.get(main_metric)
    title = "✅ Gate passed" if passed else "❌ Gate failed"
    commit = md(inputs.links.commit[:12]) if inputs.links.commit else "workspace"
    rows = [[f"**this PR** ({commit})", f"**{fmt(candidate)}**", ""]]
    production = _champion_row(verdict, main_metric, candidate)
    rows.append(production or ["production", "—", ""])
    base_value = (inputs.base_eval or {}).get(main_metric)
    change = fmt_change(candidate, base_value) if base_value is not None else ""
    rows.append([f"{md(inputs.base_ref)} (committed)", fmt(base_value), change])
    parts = [
        f"## {title}: {md(main_metric)} {fmt(candidate)}",
        table(["Model", md(main_metric), f"this PR's {md(main_metric)} minus this model's"], rows),
    ]
    failed = [c for c in verdict["checks"] if not c["passed"]]
    if failed:
        reasons = [f"- {md(c['check'])} = {fmt(c['value'])}, needs {_bound(c)}" for c in failed[:MAX_REASONS]]
        if len(failed) > MAX_REASONS:
            reasons.append(f"- and {len(failed) - MAX_REASONS} more failed checks")
        parts.append("**Why it failed:**\n\n" + "\n".join(reasons))
    parts.append("\n".join(f"> {md(note)}" for note in verdict.get("notes", [])))
    if not compact:  # a shortened report keeps the reasons above and drops the full list
        parts.append(details("Gate checks", _checks_table(verdict), open_=not passed))
    return "\n\n".join(p for p in parts if p)


def _bound(check: dict[str, Any]) -> str:
    bound = f"{OPERATORS.get(check['op'], md(check['op']))} {fmt(check['bound'])}"
    if "reference" in check:
        against = md(check.get("against") or "champion")
        bound += f" ({against} {fmt(check['reference'])} − tolerance {fmt(check['tolerance'])})"
    return bound


def _checks_table(verdict: dict[str, Any]) -> str:
    rows = []
    for check in verdict["checks"]:
        result = "✅ pass" if check["passed"] else "❌ fail"
        rows.append([md(check["check"]), fmt(check["value"]), _bound(check), result])
    return table(["Check", "Value", "Bound", "Result"], rows, ["---", "--:", "---", "---"])


# ---------------------------------------------------------------------------------------------
# Section 2: metrics and params diff


def _metric_order(main_metric: str) -> Callable[[str], tuple[int, str]]:
    return lambda key: (0 if key == main_metric else 1, key)


def section_metrics(inputs: Inputs) -> str:
    base = code(inputs.base_ref)
    rows = []
    for path, excluded in METRICS_TABLE.items():
        entries = inputs.metrics_diff.get(path, {})
        for key in sorted(entries, key=_metric_order(inputs.verdict["main_metric"])):
            if key.startswith(excluded):
                continue
            entry = entries[key]
            old, new = entry.get("old"), entry.get("new")
            rows.append([md(key), fmt(old), fmt(new), fmt_change(new, old)])
    parts = [f"### Metrics vs {base}"]
    if inputs.new_task:
        parts.append(
            f"Not compared: a new task (another data.task with mostly other classes than {base}'s, or "
            "classes that share none with them; see the gate's note); the gate judged it on thresholds alone."
        )
    elif rows:
        parts.append(table(["Metric", md(inputs.base_ref), "this PR", "change"], rows))
    else:
        parts.append("No metrics to compare (DVC found none in this workspace or on the base).")
    parts.append(_params_part(inputs))
    return "\n\n".join(parts)


def _param_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return md(value)
    return md(json.dumps(value))


def _params_part(inputs: Inputs) -> str:
    rows = [
        [md(key), _param_value(entry.get("old")), _param_value(entry.get("new"))]
        for path in sorted(inputs.params_diff)
        for key, entry in sorted(inputs.params_diff[path].items())
    ]
    if not rows:
        return f"**Params:** none changed vs {code(inputs.base_ref)}."
    header = ["Param", md(inputs.base_ref), "this PR"]
    return f"**Params changed** ({code(f'dvc params diff {inputs.base_ref}')}):\n\n" + table(
        header, rows, ["---", "---", "---"]
    )


# ---------------------------------------------------------------------------------------------
# Section 3: per class


def section_per_class(inputs: Inputs, compact: bool = False) -> str:
    per_class = inputs.candidate.get("per_class") or {}
    base_classes = (inputs.base_eval or {}).get("per_class") or {}
    minimum = inputs.params.evaluate.thresholds.min_class_recall
    compare = inputs.base_eval is not None
    parts = ["### Per class"]
    rows = []
    for label, scores in per_class.items():
        base = base_classes.get(label)
        if compact and not _notable(scores or {}, base, minimum, compare):
            continue
        rows.append(_class_row(label, scores or {}, base, minimum, compare))
    if rows:
        parts.append(table(["Class", "Precision", "Recall", "F1", "Support"], rows))
    elif not per_class:
        parts.append(f"No per-class metrics in {EVAL_METRICS_FILE}.")
    if compact:
        parts.append(
            f"Shortened to fit one comment: {len(rows)} of {len(per_class)} classes, those below the "
            "recall minimum or with F1 changed by 0.01 or more."
        )
    removed = [label for label in base_classes if label not in per_class]
    if removed:
        parts.append(
            f"Classes in {code(inputs.base_ref)} but not in this PR: "
            + ", ".join(md(x) for x in removed)
            + "."
        )
    parts.append(_confusion_part(inputs.candidate, compact))
    return "\n\n".join(p for p in parts if p)


def _notable(scores: dict[str, Any], base: dict[str, Any] | None, minimum: float, compare: bool) -> bool:
    """Worth a row in a shortened report: below the recall minimum, new, or F1 moved by 0.01+."""
    recall, f1 = scores.get("recall"), scores.get("f1")
    if not gate.usable(recall) or recall < minimum:
        return True
    if not compare or base is None:
        return compare  # a new class is notable; with nothing to compare with, a passing one is not
    old = base.get("f1")
    return not (gate.usable(f1) and gate.usable(old)) or abs(f1 - old) >= 0.01


def _class_row(
    label: str, scores: dict[str, Any], base: dict[str, Any] | None, minimum: float, compare: bool
) -> list[str]:
    old = base or {}
    has_base = compare and base is not None
    recall = with_change(scores.get("recall"), old.get("recall"), has_base)
    if not (gate.usable(scores.get("recall")) and scores["recall"] >= minimum):
        recall += f" ❌ (min {fmt(minimum)})"
    name = md(label) + (" **(new)**" if compare and base is None else "")
    return [
        name,
        with_change(scores.get("precision"), old.get("precision"), has_base),
        recall,
        with_change(scores.get("f1"), old.get("f1"), has_base),
        with_change(scores.get("support"), old.get("support"), has_base),
    ]


def _confusion_part(candidate: dict[str, Any], compact: bool) -> str:
    matrix = candidate.get("confusion_matrix") or {}
    labels, counts = matrix.get("labels") or [], matrix.get("rows_actual_columns_predicted") or []
    if not labels or len(counts) != len(labels) or any(len(row) != len(labels) for row in counts):
        return f"No usable confusion matrix in {EVAL_METRICS_FILE}."
    mistakes = _mistakes(counts)
    pairs = _confused_pairs(labels, counts, mistakes)
    parts = ["**Confusion matrix** (test split; rows: actual class, columns: predicted class)"]
    if len(labels) > MAX_CONFUSION_CLASSES or compact:
        parts.append(f"{len(labels)} classes: too many for a table; the most confused pairs follow.")
        parts.append(pairs)
    elif len(labels) > FEW_CLASSES:
        # A wide matrix takes a while to scan: the pairs that matter come first.
        parts += [pairs, _confusion_table(labels, counts, mistakes)]
    else:
        parts += [_confusion_table(labels, counts, mistakes), pairs]
    return "\n\n".join(parts)


def _share(count: Any, total: int) -> str:
    """A count's share of its row (the actual class), as the whole percent a reader compares."""
    if not is_number(count) or total <= 0:
        return "—"
    percent = 100 * count / total
    return "<1 %" if 0 < percent < 1 else f"{percent:.0f} %"


def _mistakes(counts: list[list[int]]) -> list[tuple[float, int, int, int]]:
    """Off-diagonal cells with a count, as (share of the row, count, row, column), worst first:
    a share, not a count, so a small class that is mostly wrong ranks above a big one."""
    found = []
    for i, row in enumerate(counts):
        total = sum(n for n in row if is_number(n))
        for j, n in enumerate(row):
            if i != j and is_number(n) and n > 0:
                found.append((n / total, n, i, j))
    return sorted(found, key=lambda m: (-m[0], -m[1], m[2], m[3]))


def _confusion_table(labels: list[str], counts: list[list[int]], mistakes: list[tuple]) -> str:
    # Long names would make every column as wide as the longest one: number the columns instead.
    numbered = any(len(str(label)) > MAX_HEADER_LABEL for label in labels)
    header = ["actual \\ predicted"] + [
        str(i + 1) if numbered else md(label) for i, label in enumerate(labels)
    ]
    worst = {(i, j) for _, _, i, j in mistakes[:MARKED_MISTAKES]}
    rows = []
    for i, (label, row) in enumerate(zip(labels, counts, strict=True)):
        total = sum(n for n in row if is_number(n))
        cells = []
        for j, n in enumerate(row):
            # Zeros stay bare, so the cells that matter stand out in a wide matrix.
            cell = f"{n} ({_share(n, total)})" if n else str(n)
            cells.append(f"**{cell}**" if i == j else f"⚠️ {cell}" if (i, j) in worst else cell)
        name = f"{i + 1}. {md(label)}" if numbered else md(label)
        rows.append([name, *cells])
    note = (
        "Each cell: count (share of the actual class). **Bold**: correct predictions; "
        f"⚠️: the {min(len(worst), MARKED_MISTAKES)} largest mistakes."
        if worst
        else "Each cell: count (share of the actual class). **Bold**: correct predictions."
    )
    return table(header, rows) + "\n\n" + note


def _confused_pairs(labels: list[str], counts: list[list[int]], mistakes: list[tuple]) -> str:
    if not mistakes:
        return "No mistakes on the test split."
    rows = [
        [md(labels[i]), md(labels[j]), str(n), _share(n, sum(x for x in counts[i] if is_number(x)))]
        for _, n, i, j in mistakes[:MAX_PAIRS]
    ]
    more = len(mistakes) - MAX_PAIRS
    title = "Most confused pairs" + (f" (the {MAX_PAIRS} largest of {len(mistakes)})" if more > 0 else "")
    header = ["Actual class", "Predicted as", "Count", "Share of the actual class"]
    return f"{title}:\n\n" + table(header, rows)


# ---------------------------------------------------------------------------------------------
# Section 4: plots (Mermaid: GitHub draws them; nothing is uploaded anywhere)


def _even_grid(points: list[tuple[float, float]], limit: int = MAX_CHART_POINTS) -> list[tuple[float, float]]:
    """The curve at evenly spaced steps from its first to its last, by linear interpolation.

    Mermaid spreads a line's values evenly over a numeric x-axis, so uneven steps (a last
    evaluation at 218 after 200) would be drawn at the wrong place; long curves are thinned."""
    if len(points) < 2:
        return points
    count = min(len(points), limit)
    first, last = points[0][0], points[-1][0]
    grid, k = [], 0
    for i in range(count):
        step = first + (last - first) * i / (count - 1)
        while k < len(points) - 2 and points[k + 1][0] < step:
            k += 1
        (x0, y0), (x1, y1) = points[k], points[k + 1]
        value = y0 if x1 == x0 else y0 + (y1 - y0) * (step - x0) / (x1 - x0)
        grid.append((step, value))
    return grid


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × a power of ten that is at least `value` (axis tops)."""
    if not value > 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value * (1 - 1e-9))


def _number(value: float) -> str:
    # Mermaid reads plain decimals only (no `1e-05`, no `1e+06`).
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.4f}"


def mermaid_line(
    title: str,
    y_title: str,
    points: list[tuple[float, float]],
    y_range: tuple[float, float],
    threshold: float | None = None,
) -> str:
    """A Mermaid xychart-beta line chart with a numeric step axis, a fixed y range and explicit
    colours; `threshold` adds a flat second line (the gate's bound)."""
    grid = _even_grid(points)
    palette = [LINE_COLOUR] + ([THRESHOLD_COLOUR] if threshold is not None else [])
    init = {"themeVariables": {"xyChart": {"plotColorPalette": ", ".join(palette)}}}
    if len(grid) > 1:
        x_axis = f'x-axis "step" {_number(grid[0][0])} --> {_number(grid[-1][0])}'
    else:  # one point: a numeric axis would have no width
        x_axis = f'x-axis "step" ["{_number(grid[0][0])}"]'
    lines = [
        "```mermaid",
        f"%%{{init: {json.dumps(init)}}}%%",
        "xychart-beta",
        f'    title "{_quote(title)}"',
        f"    {x_axis}",
        f'    y-axis "{_quote(y_title)}" {_number(y_range[0])} --> {_number(y_range[1])}',
        "    line [" + ", ".join(f"{value:.4f}" for _, value in grid) + "]",
    ]
    if threshold is not None:
        lines.append("    line [" + ", ".join([f"{threshold:.4f}"] * len(grid)) + "]")
    return "\n".join([*lines, "```"])


def _quote(text: str) -> str:
    # A double quote would end Mermaid's string early.
    return str(text).replace('"', "'")


def _series(curve: list[dict[str, float]], column: str) -> tuple[list[tuple[float, float]], int]:
    """(step, value) pairs that can be drawn, and how many rows were left out as not finite."""
    # One point per step: the last row wins (the final evaluation can be logged twice).
    by_step = {row["step"]: row.get(column, math.nan) for row in curve}
    drawable = [(step, value) for step, value in sorted(by_step.items()) if math.isfinite(value)]
    return drawable, len(by_step) - len(drawable)


def _loss_range(points: list[tuple[float, float]]) -> tuple[float, float]:
    # From 0: a flat loss at 0.61-0.69 (a model that learned nothing) must look flat.
    low = min(0.0, min(value for _, value in points))
    return low, nice_ceiling(max(value for _, value in points))


def section_plots(inputs: Inputs) -> str:
    main_metric = inputs.verdict["main_metric"]
    threshold = getattr(inputs.params.evaluate.thresholds, main_metric, None)
    if threshold is not None:
        metric_title = f"Validation {main_metric} (blue) and the gate threshold {fmt(threshold)} (red)"
    else:
        metric_title = f"Validation {main_metric}"
    charts = [
        ("Training loss", "loss", inputs.train_loss, "loss", TRAIN_LOSS_PLOT, None),
        (metric_title, main_metric, inputs.validation, main_metric, VALIDATION_PLOT, threshold),
        ("Validation loss", "loss", inputs.validation, "loss", VALIDATION_PLOT, None),
    ]
    parts = ["### Training curves"]
    for title, y_title, curve, column, path, bound in charts:
        points, skipped = _series(curve, column)
        if not points:
            parts.append(f"**{title}:** no data in {path}.")
            continue
        if column == "loss":
            y_range = _loss_range(points)
        else:  # scores live on 0..1; a value outside (a custom metric) widens the axis
            y_range = (min(0.0, *(v for _, v in points)), max(1.0, *(v for _, v in points)))
        chart = mermaid_line(title, y_title, points, y_range, bound)
        if skipped:
            chart += f"\n\n{skipped} point(s) left out: not a number (training may have diverged)."
        parts.append(chart)
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Section 4b: the served graph (fp32 or int8) and the other one


def _speed(latency: dict[str, Any] | None, quantize: str) -> tuple[str, str]:
    figures = ((latency or {}).get("graphs") or {}).get(quantize) or {}
    p50, rate = figures.get("single_text_p50_ms"), figures.get("batch_texts_per_second")
    return (
        f"{p50:.2f} ms" if gate.usable(p50) else "—",
        f"{rate:,.0f}" if gate.usable(rate) else "—",
    )


def section_graphs(inputs: Inputs) -> str:
    """Both ONNX graphs on the test split: which one is served (and judged), why, and their speed."""
    graphs = inputs.candidate.get("graphs")
    if not isinstance(graphs, dict) or not graphs:
        return ""
    rows = []
    for quantize, figures in sorted(graphs.items(), key=lambda item: not (item[1] or {}).get("served")):
        if not isinstance(figures, dict):
            continue
        p50, rate = _speed(inputs.latency, quantize)
        name = f"{GRAPH_NAMES.get(quantize, md(quantize))} ({code(figures.get('file', '?'), in_table=True)})"
        served = "**served, gated**" if figures.get("served") else "not served"
        rows.append(
            [
                name,
                served,
                fmt(figures.get("accuracy")),
                fmt(figures.get("macro_f1")),
                fmt(figures.get("min_class_recall")),
                fmt(figures.get("agreement_with_served")),
                p50,
                rate,
            ]
        )
    header = [
        "Graph",
        "Role",
        "accuracy",
        "macro-F1",
        "lowest recall",
        "same label as served",
        "1 text p50",
        "texts/s in batches",
    ]
    parts = ["### Served graph", table(header, rows, ["---", "---", *["--:"] * 6])]
    serving = inputs.candidate.get("serving")
    if isinstance(serving, dict) and serving.get("reason"):
        rule = md(serving.get("rule") or "?")
        parts.append(
            f"Chosen by the training program (`deploy.serve.quantize: {rule}`): {md(serving['reason'])}."
        )
    if inputs.latency is None:
        parts.append(
            f"Speed: not measured in this workspace ({LATENCY_FILE} is written when the evaluate stage runs)."
        )
    else:
        parts.append(f"Speed: {md(inputs.latency.get('what', 'measured by the evaluate stage'))}.")
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Section 5: data


def _rows_table(data: dict[str, Any], base: dict[str, Any] | None, base_ref: str) -> str:
    rows = []
    for group in ("rows", "dropped"):
        values, old_values = data.get(group) or {}, (base or {}).get(group) or {}
        for key in list(values) + [k for k in old_values if k not in values]:
            name = key if group == "rows" else f"dropped: {key}"
            new, old = values.get(key), old_values.get(key)
            rows.append([md(name), fmt(old) if base else "—", fmt(new), fmt_change(new, old) if base else ""])
    return table(["Rows", md(base_ref), "this PR", "change"], rows)


def _classes_table(data: dict[str, Any], base: dict[str, Any] | None) -> str:
    classes, old_classes = data.get("classes") or {}, (base or {}).get("classes") or {}
    labels = _ordered_labels(classes, old_classes)
    rows = []
    for label in labels:
        in_new = any(label in (classes.get(s) or {}) for s in SPLITS)
        in_old = any(label in (old_classes.get(s) or {}) for s in SPLITS)
        marker = " **(new)**" if base and not in_old else " **(removed)**" if not in_new else ""
        cells = []
        for split in SPLITS:
            new = (classes.get(split) or {}).get(label, 0 if in_new else None)
            old = (old_classes.get(split) or {}).get(label, 0 if in_old else None)
            cells.append(with_change(new, old, base is not None))
        rows.append([md(label) + marker, *cells])
    return table(["Class", *SPLITS], rows)


def _ordered_labels(*maps: dict[str, Any]) -> list[str]:
    labels: dict[str, None] = {}
    for classes in maps:
        for split in SPLITS:
            labels.update(dict.fromkeys(classes.get(split) or {}))
    return list(labels)


def data_summary(data: dict[str, Any], base: dict[str, Any] | None, base_ref: str) -> str:
    if base is None:
        return f"{code(base_ref)} has no data metrics: everything below is new."
    changes = []
    rows, old_rows = data.get("rows") or {}, base.get("rows") or {}
    for split in ("raw", *SPLITS):
        change = fmt_change(rows.get(split), old_rows.get(split))
        if change not in {"", "0"}:
            changes.append(f"{split} {change} rows")
    new_labels = set(_ordered_labels(data.get("classes") or {})) - set(
        _ordered_labels(base.get("classes") or {})
    )
    gone = set(_ordered_labels(base.get("classes") or {})) - set(_ordered_labels(data.get("classes") or {}))
    if new_labels:
        changes.append("new class(es): " + ", ".join(md(x) for x in sorted(new_labels)))
    if gone:
        changes.append("class(es) gone: " + ", ".join(md(x) for x in sorted(gone)))
    if not changes and data.get("classes") != base.get("classes"):
        changes.append("class counts changed")
    if not changes:
        return f"Same data as {code(base_ref)} (rows per split and class unchanged)."
    return f"**Data changed vs {code(base_ref)}:** " + "; ".join(changes) + "."


def section_data(inputs: Inputs, compact: bool = False) -> str:
    if inputs.data is None:
        return f"### Data\n\nNo {DATA_METRICS_FILE} in this workspace (the prepare stage writes it)."
    parts = [
        "### Data",
        data_summary(inputs.data, inputs.base_data, inputs.base_ref),
        _rows_table(inputs.data, inputs.base_data, inputs.base_ref),
    ]
    long_texts = truncation_line(inputs.data, inputs.candidate)
    if long_texts:
        parts.append(long_texts)
    if not compact:
        parts.append(details("Rows per class and split", _classes_table(inputs.data, inputs.base_data)))
    return "\n\n".join(parts)


def _percent(share: Any) -> str:
    return f"{share:.1%}" if gate.usable(share) else "—"


def truncation_line(data: dict[str, Any] | None, candidate: dict[str, Any]) -> str:
    """How many texts are longer than model.max_length tokens (prepare, every split) and what that
    costs on the test split (evaluate: accuracy on the truncated texts and on the rest)."""
    tokens = (data or {}).get("truncation") if isinstance((data or {}).get("truncation"), dict) else None
    test = candidate.get("truncation") if isinstance(candidate.get("truncation"), dict) else None
    if tokens is None and test is None:
        return ""
    limit = (tokens or test or {}).get("max_length")
    sentences = []
    if tokens is not None:
        counted = tokens.get("counted_rows")
        sample = " (a seeded sample)" if tokens.get("sampled") else ""
        spread = tokens.get("token_percentiles")
        spread = spread if isinstance(spread, dict) else {}
        longer = fmt(tokens.get("rows_longer"))
        sentences.append(
            f"{_percent(tokens.get('share'))} of the texts ({longer} "
            f"of {fmt(counted)} counted{sample}) are longer than `model.max_length` = {fmt(limit)} tokens "
            f"(median {fmt(spread.get('p50'))}, 95th percentile {fmt(spread.get('p95'))} tokens): the model "
            "sees only their first tokens"
        )
    if test is not None and test.get("truncated_rows"):
        sentences.append(
            f"on the test split, accuracy {fmt(test.get('accuracy_truncated'))} on the "
            f"{fmt(test.get('truncated_rows'))} cut texts vs {fmt(test.get('accuracy_rest'))} on the rest"
        )
    elif test is not None:
        sentences.append("no test text is cut")
    advice = (
        " A larger `model.max_length` (up to the model's limit) sees more of them and trains slower."
        if (tokens or {}).get("rows_longer") or (test or {}).get("truncated_rows")
        else ""
    )
    return "**Long texts:** " + "; ".join(sentences) + "." + advice


def section_data_checks(inputs: Inputs) -> str:
    if isinstance(inputs.data_checks, dict):
        return data_checks.section(inputs.data_checks, inputs.params.review.data_gate)
    reason = inputs.data_checks or "not computed"
    return f"### Data checks vs {code(inputs.base_ref)}\n\nNot run: {md(reason)}"


# ---------------------------------------------------------------------------------------------
# Section 6: the training job


def _first(job: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if job.get(key) not in (None, ""):
            return job[key]
    return None


def spot_savings(job: dict[str, Any]) -> float | None:
    """SageMaker's own figure when recorded, else 1 − billable / training seconds."""
    recorded = _first(job, "spot_savings_percent", "managed_spot_savings_percent")
    if gate.usable(recorded):
        return float(recorded)
    training, billable = job.get("training_seconds"), job.get("billable_seconds")
    if gate.usable(training) and gate.usable(billable) and training > 0:
        return 100.0 * (1 - billable / training)
    return None


def usd(amount: Any) -> str:
    if not gate.usable(amount):
        return "—"
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"  # a short job costs cents


def _sagemaker_rows(job: dict[str, Any]) -> list[list[str]]:
    instance = _first(job, "instance_type")
    count = _first(job, "instance_count")
    savings = spot_savings(job)
    price = _first(job, "price_usd_per_hour")
    cost = usd(_first(job, "estimated_cost_usd"))
    if cost != "—" and gate.usable(price):
        cost += f" (billable time × {usd(price)}/h on-demand)"
    name = _first(job, "job_name", "training_job_name")
    spot = job.get("spot", True) is not False
    rows = [
        ["Backend", "SageMaker training job" + (" (managed Spot)" if spot else " (on-demand)")],
        ["Job", link(str(name or "—"), _first(job, "console_url"))],
        ["Instance", md(f"{instance or '—'}" + (f" × {count}" if count else ""))],
        ["Training time", duration(_first(job, "training_seconds"))],
        ["Billable time", duration(_first(job, "billable_seconds"))],
        ["Spot savings", f"{savings:.0f} %" if savings is not None and spot else "—"],
        ["Estimated cost", cost],
        ["Region", md(_first(job, "region") or "—")],
    ]
    interruptions = job.get("interruptions")
    if gate.usable(interruptions) and interruptions > 0:
        rows.append(["Spot interruptions", f"{interruptions} (resumed from checkpoints)"])
    return rows


def _local_rows(job: dict[str, Any]) -> list[list[str]]:
    hardware = job.get("hardware") or {}
    accelerator = hardware.get("accelerator") or "none (CPU)"
    threads = hardware.get("torch_threads")
    speed = job.get("train_samples_per_second")
    peak = job.get("peak_rss_mb")
    return [
        ["Backend", "local"],
        ["Wall time", duration(job.get("wall_seconds"))],
        ["Training time", duration(job.get("train_seconds"))],
        ["Throughput", f"{speed:.1f} samples/s" if gate.usable(speed) else "—"],
        ["Peak memory", f"{peak / 1024:.2f} GiB" if gate.usable(peak) else "—"],
        ["CPU", md(f"{hardware.get('cpu_count', '—')} cores, {threads or '—'} torch threads")],
        ["Accelerator", md(accelerator)],
        ["Platform", md(hardware.get("platform") or "—")],
    ]


# The workflow sets it to the time its run started (ISO 8601, UTC): the report then says how long
# the loop from a push to this report took.
LOOP_STARTED_ENV = "TEXTCLF_LOOP_STARTED_AT"


def loop_seconds(now: datetime | None = None) -> float | None:
    """Seconds from the workflow run's start ($TEXTCLF_LOOP_STARTED_AT) to now; None without it."""
    raw = os.environ.get(LOOP_STARTED_ENV, "").strip()
    if not raw:
        return None
    try:
        started = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return max(((now or datetime.now(UTC)) - started).total_seconds(), 0.0)


def phase_rows(job: dict[str, Any]) -> list[list[str]]:
    """The SageMaker job's phases (SecondaryStatusTransitions) with their durations."""
    phases = job.get("phases")
    if not isinstance(phases, list):
        return []
    rows = []
    for phase in phases:
        if not isinstance(phase, dict) or not phase.get("status"):
            continue
        rows.append(
            [md(str(phase["status"])), duration(phase.get("seconds")), md(str(phase.get("message") or ""))]
        )
    return rows


def section_time(inputs: Inputs) -> str:
    """Where the minutes went: the job's phases, and the loop from the run's start to this report."""
    job = inputs.train_job or {}
    rows = phase_rows(job)
    loop = loop_seconds()
    if not rows and loop is None:
        return ""
    parts = ["#### Where the time went"]
    if rows:
        parts.append(table(["Job phase", "Duration", "SageMaker's message"], rows, ["---", "---:", "---"]))
    if loop is not None:
        parts.append(f"From the workflow run's start to this report: **{duration(loop)}**.")
    return "\n\n".join(parts)


def section_training(inputs: Inputs) -> str:
    job = inputs.train_job
    if job is None:
        return (
            f"### Training job\n\nNo {TRAIN_JOB_FILE} in this workspace: the train stage writes it when it "
            "trains, and this model was not trained here (DVC restored it from its cache)."
        )
    if not job:
        return (
            f"### Training job\n\n{TRAIN_JOB_FILE} holds no job facts (an empty object): the train stage "
            "writes them when it trains; train again (`dvc repro --force train`) to have them here."
        )
    backend = job.get("backend")
    rows = _sagemaker_rows(job) if backend == "sagemaker" else _local_rows(job)
    resumed = job.get("resumed_from_step")
    if gate.usable(resumed) and resumed > 0:
        rows.append(["Resumed", f"from checkpoint at step {resumed} (interrupted run)"])
    train = inputs.train or {}
    if gate.usable(train.get("global_step")):
        rows.append(["Steps", str(train["global_step"])])
    text = "### Training job\n\n" + table(["Fact", "Value"], rows, ["---", "---"])
    time_spent = section_time(inputs)
    return text + ("\n\n" + time_spent if time_spent else "")


# ---------------------------------------------------------------------------------------------
# Section 7: links


def section_links(inputs: Inputs) -> str:
    links, job = inputs.links, inputs.train_job or {}
    items = []
    if links.run_url:
        items.append(f"Workflow run: {link(links.run_url, links.run_url)}")
        # The page itself is a workflow artifact: only people who can read the repository get it.
        items.append(
            f"Interactive plots (`dvc plots diff {md(inputs.base_ref)}`): artifact "
            f"{link(PLOTS_ARTIFACT, links.run_url + '#artifacts')} of the workflow run"
        )
    console = _first(job, "console_url")
    name = _first(job, "job_name", "training_job_name")
    if console or name:
        items.append(f"Training job: {link(str(name or console), console)}")
    if links.commit:
        items.append(f"Model trained from commit: {link(links.commit[:12], links.commit_url)}")
    compared = f"Compared with: {code(inputs.base_ref)} at {md(inputs.base_commit[:12])}"
    items.append(compared + (f" ({md(inputs.base_note)})" if inputs.base_note else ""))
    if not links.run_url:
        items.append("Built locally (`make report`): no workflow run to link.")
    return "### Links\n\n" + "\n".join(f"- {item}" for item in items)


# ---------------------------------------------------------------------------------------------
# The whole report


def _sections(inputs: Inputs, compact: bool) -> list[str]:
    sections = [
        section_headline(inputs, compact),
        section_metrics(inputs),
        section_per_class(inputs, compact),
        section_graphs(inputs),
        section_plots(inputs),
        section_data(inputs, compact),
        section_data_checks(inputs),
        section_training(inputs),
        section_links(inputs),
    ]
    return [section for section in sections if section]  # a section with nothing to show is left out


def render(inputs: Inputs, limit: int = COMMENT_LIMIT) -> str:
    """The report; shortened (first the detail tables, then whole sections) to fit one comment."""
    sections = _sections(inputs, compact=False)
    if len("\n\n".join(sections)) > limit:
        sections = _sections(inputs, compact=True)
    while len("\n\n".join(sections)) > limit:
        # The headline (verdict and reasons) is never left out.
        longest = max(range(1, len(sections)), key=lambda i: len(sections[i]))
        heading = sections[longest].split("\n", 1)[0]
        stub = f"{heading}\n\nLeft out: too long for one PR comment; the numbers are in metrics/*.json."
        if len(stub) >= len(sections[longest]):
            break  # nothing left to shorten
        sections[longest] = stub
    return "\n\n".join(sections) + "\n"


def write(
    params: Params,
    base_ref: str = "main",
    source: Source = "auto",
    commit_sha: str | None = None,
    out: Path = REPORT_FILE,
) -> dict[str, Any]:
    """Build the report into `out` (all or nothing); returns the gate verdict it shows."""
    inputs = collect(params, base_ref, source, commit_sha)
    try:
        text = render(inputs)
    except (
        TypeError,
        KeyError,
        AttributeError,
        ValueError,
        IndexError,
        ZeroDivisionError,
        OverflowError,
    ) as error:
        # A shape the checks above did not foresee: still one message naming the inputs, no traceback.
        files = f"{EVAL_METRICS_FILE}, {DATA_METRICS_FILE}, {TRAIN_METRICS_FILE}, {TRAIN_JOB_FILE}"
        raise ReportError(
            f"the report cannot be drawn from {files} and plots/*.csv ({type(error).__name__}: {error}): "
            "one of them is not what the pipeline writes; run it again (dvc repro)"
        ) from None
    if isinstance(inputs.data_checks, dict):  # every flagged row, for the workflow to upload
        data_checks.write_flagged(inputs.data_checks, out.parent / data_checks.FLAGGED_FILE.name)
    else:
        atomic.remove(out.parent / data_checks.FLAGGED_FILE.name)  # never an earlier run's list
    atomic.write_text(out, text)
    return inputs.verdict
