"""`textclf`: one command with a subcommand per pipeline stage and cloud part.

Every subcommand prints one line per step with its timing, and exits non-zero with a message
that names the file, row or setting to fix when its input is wrong.
"""

from __future__ import annotations

import sys

# A Ctrl-C in a command's first tenths of a second showed Python's stack instead of "interrupted"
# (R13A-1): the console script imports this module before main() runs, and the module loaded config
# (pydantic) at the top. Now only the standard library and textclf.interrupt (standard library only)
# load here, guarded, and every other import is inside the function that needs it, which runs
# within main()'s guard.
try:
    import argparse
    import contextlib
    import errno
    import os
    import re
    import time
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import TYPE_CHECKING

    from textclf.interrupt import interrupted_message, reader_gone
except KeyboardInterrupt:
    from textclf.interrupt import interrupted_message

    print(f"[textclf] {interrupted_message()}", file=sys.stderr, flush=True)
    raise SystemExit(130) from None

if TYPE_CHECKING:
    import subprocess

    from textclf.config import Params


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors the user can act on: printed without a traceback."""
    from textclf.batch.job import BatchError
    from textclf.config import ParamsError
    from textclf.pipeline.modeling import ModelNotFoundError
    from textclf.pipeline.prepare import DataError
    from textclf.pipeline.sample_data import SampleDataError
    from textclf.pipeline.train import PreparedDataError
    from textclf.rehearse import RehearsalError
    from textclf.release.github_settings import SettingsError
    from textclf.release.promote import ReleaseError
    from textclf.release.retrain import RetrainError
    from textclf.release.staging import StagingError
    from textclf.review.champion import ChampionError
    from textclf.review.freshness import StaleMetricsError
    from textclf.review.gate import GateError
    from textclf.review.report import ReportError
    from textclf.review.summary import SummaryError
    from textclf.training.sagemaker import SageMakerError

    return (
        ParamsError,
        DataError,
        ModelNotFoundError,
        SampleDataError,
        PreparedDataError,
        ChampionError,
        GateError,
        StaleMetricsError,
        ReportError,
        SummaryError,
        ReleaseError,
        SettingsError,
        StagingError,
        RetrainError,
        RehearsalError,
        SageMakerError,
        BatchError,
    )


# The params sections each command reads: a file without one is refused, never run on built-in
# defaults (config.GATE_KEYS are required of every file).
NEEDS: dict[str, tuple[str, ...]] = {
    "prepare": ("data", "data.split", "model"),
    "train": ("data", "model", "train", "deploy", "deploy.serve"),
    "evaluate": ("data", "model", "evaluate", "deploy", "deploy.serve"),
    "serve": ("model", "deploy", "deploy.serve"),
    # data: the classes eval.json must cover; deploy.serve: the rule and tolerance of the served graph
    "gate": ("data", "evaluate", "deploy", "deploy.serve", "aws"),
    "report": ("data", "model", "train", "evaluate", "deploy", "deploy.serve", "aws"),  # runs the gate
    "summary": ("data", "model", "evaluate", "deploy", "deploy.serve", "aws"),  # judges as the gate does
    "use-data": ("data",),
    "champion": ("data", "evaluate", "aws"),  # data.task: the champion's must be this one
    "publish": ("evaluate", "aws"),
    "release-check": ("aws",),
    "production-commit": ("aws",),
    "staging-check": ("data", "deploy", "deploy.serve", "deploy.staging", "aws"),
    "bake": ("evaluate", "deploy", "deploy.staging", "aws"),
    "promote": ("data", "evaluate", "aws"),
    "batch-predict": ("batch", "deploy", "deploy.serve", "aws"),
    "batch-stop": ("aws",),
    "retrain-import": ("data", "aws"),
}


def _params_path(args: argparse.Namespace) -> Path:
    """--params as given: a path other than the default that names nothing is the option's fault
    (`--params /nonexistent` was told to run from the repository root)."""
    from textclf.config import PARAMS_FILE, ParamsError

    option = "--params (or TEXTCLF_PARAMS)" if args.command == "serve" else "--params"
    path = Path(args.params)
    if not args.params.strip():
        raise ParamsError(f"{option} {args.params!r} names no file: pass your params file, e.g. params.yaml")
    try:
        found = path.exists() or path.is_symlink()
    except ValueError:  # a NUL in the path
        found = False
    if path != PARAMS_FILE and not found:
        raise ParamsError(
            f"{option} {args.params!r}: not found (relative paths start at the working folder, "
            f"{Path.cwd()}); pass the path of your params file, or leave it out to read params.yaml from "
            "the repository root"
        )
    return path


def _load(args: argparse.Namespace) -> Params:
    """params.yaml with the sections this command reads (NEEDS)."""
    from textclf.config import load_params

    _params_path(args)
    params = load_params(args.params, needs=NEEDS.get(args.command, ()))
    if args.command == "train" and params.train_backend == "sagemaker":
        params = load_params(args.params, needs=(*NEEDS["train"], "sagemaker", "aws"))
    return params


# GitHub's runner takes `##[<command> ...]` anywhere in a log line as a workflow command (its legacy
# form: actions/runner, ActionCommand.TryParse): an error annotation, `add-mask`, `stop-commands`. A
# message may quote a file name, a key or a label someone else chose (issue 27, round 10, R-e).
WORKFLOW_COMMAND = "##["
# And `::<command> ...::` as a line's first characters once leading blanks are trimmed (its current
# form: ActionCommand.TryParseV2, "the message needs to start with the keyword after trim leading
# space"): a message's own line break followed by a name someone chose (R14A-12).
LINE_COMMAND = re.compile(r"^([^\S\n]*):(?=:)", re.MULTILINE)


# Control characters a terminal acts on (ESC starts colour, cursor and title sequences, a CR returns
# to the start of the line and the rest overprints it), C1 controls (U+009B is a one-character CSI) and
# DEL; a message may quote a path or an argument someone typed or a file holds. Shown as `\x1b`.
# Line breaks and tabs are the message's own layout.
SHOWN_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def log(message: str) -> None:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        message = LINE_COMMAND.sub(r"\1: ", message.replace(WORKFLOW_COMMAND, "## ["))
    message = SHOWN_CONTROLS.sub(lambda found: f"\\x{ord(found.group()):02x}", message)
    print(f"[textclf] {message}", file=sys.stderr, flush=True)


def _timed(name: str, action: Callable[[], object]) -> object:
    started = time.perf_counter()
    log(f"{name} ...")
    result = action()
    log(f"{name} done in {time.perf_counter() - started:.1f} s")
    return result


def _plain_name(value: str) -> None:
    """ValueError for a path a person cannot read or a program would take for an option
    (own_data.name_problem)."""
    from textclf.pipeline.own_data import name_problem

    problem = name_problem(value)
    if problem is not None:
        raise ValueError(problem)


def _broken_link(folder: Path) -> str | None:
    """What is wrong with the first symbolic link on the way to `folder` that leads nowhere (a loop,
    a missing target), or None."""
    for step in [*reversed(folder.parents[:-1]), folder]:
        if not step.is_symlink():
            continue
        where = "" if step == folder else f"{step.as_posix()!r} on the way is "
        try:
            step.stat()
        except OSError as error:
            if error.errno == errno.ELOOP:
                return f"{where}a symbolic link loop"
            if error.errno == errno.ENOENT:
                return f"{where}a symbolic link to {os.readlink(step)[:200]!r}, which does not exist"
    return None


def _repository_folder(value: str, option: str, example: str) -> Path:
    """`value` of a command's folder option, checked as params.yaml's folders are (config.
    repo_relative_folder: relative to the repository root, inside it, not .git, .dvc or src), and
    resolved (a symbolic link on the way) inside the working folder, the repository root."""
    from textclf.config import repo_relative_folder, resolved_folder, written_folder
    from textclf.pipeline.prepare import DataError

    try:
        folder = Path(repo_relative_folder(value))
        _plain_name(value)
        # A stage's output or what make clean removes: the next run would delete what is written there
        # (issue 27, round 10, U-r10-5), as params.yaml's data.raw_dir check says.
        if (taken := written_folder(folder.as_posix())) is not None:
            raise ValueError(f"overlaps {taken}/, which a stage writes or make clean removes")
        # The same checks on where a symbolic link on the way leads (`ln -s models/model mylink`):
        # the text alone named a harmless folder and the sample went into the model folder.
        resolved = resolved_folder(folder.as_posix())
        if resolved is not None:
            try:
                repo_relative_folder(resolved)
            except ValueError as error:
                raise ValueError(f"a symbolic link leads it to {resolved}: {error}") from None
            if (taken := written_folder(resolved)) is not None:
                raise ValueError(
                    f"a symbolic link leads it to {resolved}: overlaps {taken}/, which a stage writes or "
                    "make clean removes"
                )
    except ValueError as error:
        raise DataError(
            f"{option} {value!r}: {error}; write {option} {example} or another folder inside the repository, "
            "relative to its root (where the command runs)"
        ) from None
    if (broken := _broken_link(folder)) is not None:  # resolve() raised on a loop; mkdir "File exists"
        raise DataError(f"{option} {value!r}: {broken}; pass {option} a folder, e.g. {option} {example}")
    root = Path.cwd().resolve()
    if not folder.resolve().is_relative_to(root):
        raise DataError(
            f"{option} {value!r}: leads to {folder.resolve()} through a symbolic link, outside the "
            f"repository ({root}); pass {option} a folder inside it, e.g. {option} {example}"
        )
    return folder


def cmd_sample_data(args: argparse.Namespace) -> None:
    from textclf.pipeline import sample_data
    from textclf.pipeline.prepare import DataError

    out = _repository_folder(args.out, "--out", "data/raw")
    try:
        path = sample_data.write_sample(out, force=args.force)
    except OSError as error:
        raise DataError(
            f"{args.out}: cannot write the sample there ({error.strerror}); pass --out a folder"
        ) from None
    log(f"wrote the bundled sample to {path}")


def cmd_data(args: argparse.Namespace) -> None:
    """Materialise data/raw for a fresh clone: the bundled sample when data.dvc pins it, otherwise
    the DVC remote (the team's own data)."""

    from textclf.pipeline import sample_data
    from textclf.pipeline.prepare import DataError

    _repository_folder(args.out, "--out", "data/raw")  # before anything is read, pulled or committed
    if not args.dvc_file.strip():  # Path('') is the current folder: "is a folder; git checkout "
        raise DataError(
            f"--dvc-file {args.dvc_file!r}: names no file; pass --dvc-file data.dvc (the default)"
        )
    dvc_file = Path(args.dvc_file)
    if dvc_file.exists() and not dvc_file.is_file():  # a pipe was reported as "not found"
        kind = "a folder" if dvc_file.is_dir() else "not a regular file (a pipe, device or socket)"
        raise DataError(
            f"{args.dvc_file}: is {kind}; restore the .dvc file (git checkout {args.dvc_file}) or pass "
            "--dvc-file"
        )
    if not dvc_file.is_file():
        raise DataError(f"{args.dvc_file}: not found; run from the repository root or pass --dvc-file")
    _tracked_by(Path(args.out), dvc_file)
    if sample_data.is_pinned_by(Path(args.dvc_file)):
        others = sample_data.foreign_files(Path(args.out))
        if others and not args.force:
            shown = ", ".join(str(path) for path in others[:5]) + (" ..." if len(others) > 5 else "")
            raise DataError(
                f"{args.out}: holds files that are not the bundled sample ({shown}) while {args.dvc_file} "
                "still pins the sample; nothing was replaced or committed. If they are your data, track "
                f"them: dvc commit --force {args.dvc_file} && dvc push. To write the sample over "
                f"{args.out}/messages.csv anyway (and commit {args.out} as it then is), pass --force"
            )
        cmd_sample_data(argparse.Namespace(out=args.out, force=args.force))
        # Into the DVC cache too, so `dvc push` can send it like any other data.
        failed = _dvc_said("commit", "--force", args.dvc_file)
        if failed is not None:
            raise DataError(f"`dvc commit {args.dvc_file}` failed: {failed}")
        return
    log(f"{args.dvc_file} tracks data other than the bundled sample: pulling it from the DVC remote")
    failed = _dvc_said("pull", args.dvc_file, echo=True)
    if failed is not None and "unsaved files" in failed:
        # DVC keeps files of the folder its .dvc file does not pin (added or edited) and says so; the
        # remote and the credentials are not at fault (R13A-4).
        raise DataError(
            f"{args.out} holds changes {args.dvc_file} does not pin (DVC named them above); nothing was "
            f"replaced. Keep them: dvc commit {args.dvc_file} && dvc push; or replace them with the pinned "
            f"data: dvc pull --force {args.dvc_file}"
        )
    if failed is not None:
        raise DataError(
            f"could not pull {args.dvc_file} from the DVC remote ({failed}); check `dvc remote list` and AWS "
            "credentials, or ask whoever changed data.dvc to run `dvc push`"
        )


def _tracked_by(out: Path, dvc_file: Path) -> None:
    """`--out` is the folder `dvc_file` tracks: `data` checks --out for the user's files, writes the
    sample there and then commits (or pulls) the folder the .dvc file names. Another --out had the
    user's unversioned files in data/raw committed without a word, or the sample written and the
    commit then failed on a data/raw that was not there (R14A-3)."""
    from textclf.pipeline import own_data
    from textclf.pipeline.prepare import DataError

    tracked = own_data.tracked_folders(dvc_file)
    if tracked == []:  # a YAML mapping without `outs:` (params.yaml, dvc.lock): no .dvc file at all
        raise DataError(
            f"{dvc_file}: not a .dvc file (it has no `outs:` list of what DVC tracks); pass the .dvc file "
            "that pins the raw data, --dvc-file data.dvc (the default); nothing was written"
        )
    if tracked is None or out.resolve() in tracked:  # unreadable as YAML: DVC then says what is wrong
        return
    root = Path.cwd().resolve()
    named = ", ".join(
        str(folder.relative_to(root)) if folder.is_relative_to(root) else str(folder) for folder in tracked
    )
    raise DataError(
        f"--out {out}: not the folder {dvc_file} tracks ({named}); `textclf data` writes and commits that "
        f"folder, nothing else: pass --out {named.split(', ')[0]}, or leave it out (the sample elsewhere: "
        f"textclf sample-data --out {out}); nothing was written"
    )


def _end(child: subprocess.Popen[str], grace: float = 10.0) -> None:
    """Stop `child` (SIGTERM; SIGKILL after `grace` seconds) and wait until it has exited. A second
    Ctrl-C meanwhile does not end the wait: what follows must not race the child."""
    import subprocess

    with contextlib.suppress(OSError):
        child.terminate()
    while True:
        try:
            child.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                child.kill()
        except KeyboardInterrupt:
            continue


def _dvc_said(*args: str, echo: bool = False) -> str | None:
    """Run `dvc ARGS`: None when it succeeds, else what DVC said was wrong (its ERROR lines, one
    line, cut). Its output is kept (shown as it comes with `echo`, else only what the error names):
    `--quiet` hid DVC's ERROR line too, and the refusal pointed at a message that was not there
    (R13A-11)."""
    import signal
    import subprocess
    import threading

    from textclf.interrupt import STOP_SIGNALS
    from textclf.pipeline.prepare import DataError

    # Ctrl-C and the stop signals wait while Popen starts dvc: one arriving as Popen waited for the
    # exec unwound Popen itself, and dvc ran on unseen, out of _end's reach (R14A-1). dvc starts with
    # the mask this process had; held signals arrive once the `try` below is entered.
    held = threading.current_thread() is threading.main_thread()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, *STOP_SIGNALS}) if held else set()
    try:
        done = subprocess.Popen(
            ["dvc", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=(lambda: signal.pthread_sigmask(signal.SIG_SETMASK, mask)) if held else None,
        )
    except BaseException as error:
        if held:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if isinstance(error, FileNotFoundError):
            raise DataError(
                "`dvc` is not installed or not on PATH: activate the project's venv (make setup)"
            ) from None
        raise
    said = []
    assert done.stdout is not None
    try:
        if held:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for line in done.stdout:
            said.append(line)
            if echo:
                sys.stderr.write(line)
        code = done.wait()
    except BaseException:  # Ctrl-C, or SIGTERM to this process alone (own_data.Terminated)
        # DVC is stopped, and gone, before the caller puts back what it changed: left running, `dvc
        # add` wrote data.dvc after use-data had restored it, which then pinned data it did not hold
        # while the run said data.dvc was as it was (R14A-1).
        _end(done)
        raise
    if code == 0:
        return None
    errors = [line.strip().removeprefix("ERROR:").strip() for line in said if line.startswith("ERROR")]
    text = " ".join(errors) or "DVC named no error; run `dvc " + " ".join(args) + "` to see its output"
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:300] + "..."


# Set by the Makefile's use-data recipe (to "1"): messages name make's variables, and make repro
# follows at once.
USE_DATA_VIA_MAKE = "TEXTCLF_USE_DATA_VIA_MAKE"


def cmd_use_data(args: argparse.Namespace) -> None:
    """Your own CSV/JSONL/Parquet file as the data: placed, params.yaml set, `dvc add`ed. One run at
    a time in a repository: two at once each put back what it had read on failure, over what the
    other had just written (R14A-6)."""
    from textclf.pipeline import own_data

    with own_data.one_at_a_time():
        _use_data(args)


def _use_data(args: argparse.Namespace) -> None:
    import signal
    import tempfile

    from textclf import interrupt
    from textclf.pipeline import own_data
    from textclf.pipeline.prepare import DataError

    params = _load(args)
    raw_dir, params_file, dvc_file = Path(params.data.raw_dir), Path(args.params), Path(args.dvc_file)
    columns = {"text_column": args.text_column, "label_column": args.label_column, "labels": None}
    # `make use-data` says so: messages then name the make variables the user typed (TEXT=, ...).
    via_make = os.environ.get(USE_DATA_VIA_MAKE) == "1"
    names = own_data.MAKE_VARIABLES if via_make else own_data.OPTIONS
    if args.text_column == args.label_column:
        raise DataError(f"{names.text} and {names.label} both name {args.text_column!r}: give two columns")
    own_data.check_params_inside(params_file)
    own_data.check_written_in_place(params_file, dvc_file)
    own_data.check_source(Path(args.file), args.file)  # before data.raw_dir/<its name> is looked at
    own_data.check_raw_dir(raw_dir, Path(args.file))
    labels = own_data.given_labels(args.labels, names)
    task = own_data.given_task(args.task, names)
    empty_text = own_data.given_empty_text(args.empty_text, names)
    if empty_text is not None:
        columns["empty_text"] = empty_text
    raw_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".use-data.", dir=raw_dir.parent))
    try:
        # SIGTERM (a cancelled CI job): put back, then exit 143
        with own_data.sigterm_rolls_back(log, f"{params_file}, {dvc_file} and {raw_dir}"):
            placement = _timed(
                f"reading {args.file}",
                lambda: own_data.plan(
                    Path(args.file),
                    raw_dir,
                    dvc_file,
                    params.data.model_copy(update=columns),
                    labels,
                    staging,
                    force=args.force,
                    names=names,
                ),
            )
            text = own_data.new_params_text(
                params_file, args.text_column, args.label_column, placement.labels, task, empty_text
            )

            def track() -> None:
                failed = _dvc_said("add", str(raw_dir))
                if failed is not None:
                    raise DataError(
                        f"`dvc add {raw_dir}` failed: {failed}; {params_file}, {dvc_file} and {raw_dir} "
                        "are as they were"
                    )

            own_data.apply(placement, staging, raw_dir, params_file, text, dvc_file, track)
    finally:
        own_data.discard(staging)
    # Done: a signal now (Ctrl-C, a CI cancel) stops the report of what was done, saying that it was
    # done; it ended the process without a word, exit 143 or 130 after everything had changed.
    try:
        with interrupt.stop_signals(_raise_terminated):
            _use_data_said(args, params, placement, params_file, dvc_file, raw_dir, task, empty_text, names)
    except KeyboardInterrupt as stopped:
        signum = getattr(stopped, "signum", signal.SIGINT)
        log(
            f"stopped ({signal.Signals(signum).name}) after use-data had finished: {params_file}, {dvc_file} "
            f"and {raw_dir} hold {placement.target}; next: make repro"
        )
        raise SystemExit(128 + signum) from None


def _raise_terminated(signum: int) -> None:
    from textclf.pipeline.own_data import Terminated

    raise Terminated(signum)


def _use_data_said(args, params, placement, params_file, dvc_file, raw_dir, task, empty_text, names) -> None:
    """What use-data did, and the next steps."""
    via_make = os.environ.get(USE_DATA_VIA_MAKE) == "1"
    counts = ", ".join(f"{label} {placement.counts[label]:,}" for label in placement.labels[:12])
    more = f" and {len(placement.labels) - 12} more" if len(placement.labels) > 12 else ""
    with folded_output():  # the user's paths, column and class names can be of any length
        log(f"{placement.target}: {sum(placement.counts.values()):,} rows; classes: {counts}{more}")
        for path in placement.replaced:
            lost = " (it was in no DVC cache: deleted for good)" if path in placement.uncached else ""
            log(f"replaced {path}{lost}")
        log(f"{params_file}: data.text_column {args.text_column!r}, data.label_column {args.label_column!r}")
        classes = len(placement.labels)
        log(f"{params_file}: data.labels, {classes} classes; {dvc_file} tracks {raw_dir} (dvc add)")
        if empty_text is not None:
            log(f"{params_file}: data.empty_text {empty_text!r}")
        if task is not None:
            log(f"{params_file}: data.task {task!r}")
        else:
            separator = "" if names.task.endswith("=") else " "
            log(
                f"{params_file}: data.task stays {params.data.task!r}; if this is another task, name it "
                f"({names.task}{separator}NAME): when its classes differ from main's model's too, the "
                "gate judges on the thresholds, not against that model"
            )
        for line in _use_data_next(params_file, dvc_file, via_make):
            log(line)


def _use_data_next(params_file: Path, dvc_file: Path, via_make: bool = False) -> list[str]:
    """The steps after use-data, as commands to paste: every path shell-quoted (a --dvc-file named
    `$(id).dvc` was printed as it was, and pasting the line ran `id`)."""
    import shlex
    import subprocess

    repro = "prepare, train, evaluate; the gate says if this is a new task"
    if via_make:  # the recipe runs it straight after; its summary ends with these steps, last
        return [f"make repro runs now: {repro}", "its summary ends with the steps to keep the result"]
    branch = subprocess.run(
        ["git", "branch", "--show-current"], capture_output=True, text=True
    ).stdout.strip()
    switch = []
    if branch in ("main", "master"):
        switch = [f"  git switch -c my-data  # you are on {branch}; the report compares with main"]
    keep = [
        f"  git add {shlex.quote(str(dvc_file))} {shlex.quote(str(params_file))} dvc.lock metrics plots "
        "&& git commit",
        "  dvc push               # to the DVC remote; offline, skip it (README, Your own data)",
    ]
    return ["next:", *switch, f"  make repro             # {repro}", *keep]


def cmd_summary(args: argparse.Namespace) -> None:
    from textclf.review import summary

    for line in summary.lines(_load(args), args.base, args.champion):
        print(line)


def cmd_prepare(args: argparse.Namespace) -> None:
    from textclf.pipeline import prepare

    params = _load(args)
    summary = _timed(
        "prepare",
        lambda: prepare.run(
            params.data,
            model=params.model,
            epochs=params.train.epochs,
            log=log,
            on_cpu=params.train_backend == "local",
        ),
    )
    rows = summary["rows"]
    log(f"rows: train {rows['train']}, validation {rows['validation']}, test {rows['test']}")


def _model_params(args: argparse.Namespace) -> Params:
    """params.yaml, with model.max_length checked against the model's own limit when that is on
    disk (a longer input would fail deep inside training or evaluation)."""
    from textclf.config import ParamsError
    from textclf.pipeline.modeling import input_limit

    path = args.params
    params = _load(args)
    limit = input_limit(params.model.name)
    if limit is not None and params.model.max_length > limit:
        raise ParamsError(
            f"{path}: model.max_length: {params.model.max_length} is longer than {params.model.name} "
            f"takes ({limit} tokens, max_position_embeddings); lower it to {limit} or less"
        )
    return params


# Modules a sequence classifier adds to its base model (BERT's classifier and pooler, DistilBERT's
# pre_classifier, GPT-style score): a key with one of these parts belongs to the new head.
HEAD_PARTS = frozenset({"classifier", "pre_classifier", "score", "pooler"})
# What transformers' load report says of the new head's keys: not in the checkpoint, or in it with
# another label count (a base that is a classifier already: load_classifier passes
# ignore_mismatched_sizes, so the head is replaced; without it transformers raises after the report).
HEAD_STATUSES = frozenset({"MISSING", "MISMATCH"})


def new_head_report(report: str) -> str | None:
    """One line for transformers' load report (escape codes removed) when everything it lists is
    the new classification head the train stage creates and then trains; None otherwise. The table
    of MISSING keys reads as an error to someone who has not seen one before, and it is not."""
    import re

    title, _, table = report.partition("\n")
    model = re.match(r"(\w+) LOAD REPORT from: ", title)
    if model is None:
        return None
    keys, statuses = set(), set()
    for row in table.splitlines():
        cells = [cell.strip() for cell in row.split("|")]
        if len(cells) < 2 or cells[:2] == ["Key", "Status"]:
            continue
        key, status = cells[0], cells[1]
        if status not in HEAD_STATUSES or not HEAD_PARTS & set(key.split(".")):
            return None
        keys.add(key)
        statuses.add(status)
    if not keys:
        return None
    shown = ", ".join(sorted(keys)[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
    where = "MISSING from the base model" if statuses == {"MISSING"} else " and ".join(sorted(statuses))
    return (
        f"{model.group(1)}: a new classification head for data.labels ({shown}), trained by this "
        f"stage; transformers' load report lists it as {where}: expected, not an error"
    )


def _plain_library_logs() -> None:
    """transformers' log lines as a reader of the training log needs them: its load report on the
    base model as one line when all it lists is the new classification head (new_head_report),
    and, where stderr is not a terminal (a log file, CI), without the terminal escape codes it
    prints its title in whatever the output is."""
    import logging
    import re

    escape = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
    plain = not sys.stderr.isatty()

    class _Plain(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            message = record.getMessage()
            head = new_head_report(escape.sub("", message)) if "LOAD REPORT" in message else None
            if head is not None:
                record.msg, record.args = head, None
            elif plain and "\x1b" in message:
                record.msg, record.args = escape.sub("", message), None
            return True

    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # the SageMaker backend's stage runs without transformers
        return
    hf_logging.get_logger("transformers")  # makes the library's handler, which the filter joins
    for handler in logging.getLogger("transformers").handlers:
        handler.addFilter(_Plain())


class FoldedLines:
    """A text stream that wraps each line wider than `width` columns, continued on indented lines:
    the Trainer's metric dicts and the export check run to 180 columns, the gate's note on a new
    task to 266, and `make repro` ends with a screen that fits 100. A continued log line keeps its
    `[name] ` prefix and its own indent; a word longer than the line is not cut. A progress bar's
    redraw (a carriage return) or a line with escape codes passes as it is, and so does a partial
    line at flush."""

    def __init__(self, stream, width: int = 100) -> None:
        self._stream, self._width, self._pending = stream, width, ""

    def write(self, text: str) -> int:
        import re
        import textwrap

        *lines, self._pending = (self._pending + text).split("\n")
        out = []
        for line in lines:
            plain = len(line) <= self._width or "\r" in line or "\x1b" in line
            lead = re.match(r"(\[[\w.-]+\] )? *", line).group(0)[: self._width // 2]
            # A word longer than the width (a path, a URL) stays whole on its own line, so that it
            # can still be copied from the message.
            wrapped = textwrap.wrap(
                line,
                self._width,
                subsequent_indent=lead + "    ",
                break_on_hyphens=False,
                break_long_words=False,
            )
            out.append((line if plain else "\n".join(wrapped)) + "\n")
        if "\r" in self._pending or "\x1b" in self._pending:
            out.append(self._pending)
            self._pending = ""
        self._stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def folded_output(width: int = 100, stdout: bool = True) -> Iterator[None]:
    """sys.stderr, and sys.stdout unless `stdout` is False, folded at `width` columns (FoldedLines)
    while the block runs."""
    streams = sys.stdout, sys.stderr
    if stdout:
        sys.stdout = FoldedLines(sys.stdout, width)
    sys.stderr = FoldedLines(sys.stderr, width)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams


def cmd_train(args: argparse.Namespace) -> None:
    from textclf.training.backends import run_train_stage

    params = _model_params(args)
    with folded_output():
        _plain_library_logs()
        _timed(f"train ({params.train_backend} backend)", lambda: run_train_stage(params))


def cmd_train_job(args: argparse.Namespace) -> None:
    """The SageMaker `train` program: reads the container contract's paths and hyperparameters.
    Its log lines (standard error) are folded at 100 columns as `textclf train`'s are; standard
    output is not: its last line is the run's facts as one JSON line, which the SageMaker backend
    reads from the job's log (training/sagemaker.py)."""
    from textclf.pipeline import train

    with folded_output(stdout=False):
        _plain_library_logs()
        train.main_job()


def cmd_evaluate(args: argparse.Namespace) -> None:
    from textclf.interrupt import sigterm_as_interrupt
    from textclf.pipeline import evaluate

    # SIGTERM and SIGHUP as Ctrl-C: "interrupted" and what DVC left, not a silent exit 143 (R14A-2).
    with sigterm_as_interrupt():
        params = _model_params(args)
        verdict = _timed("evaluate", lambda: evaluate.run(params))
    log(f"gate (thresholds): {verdict['verdict']}")


def cmd_local_cloud(args: argparse.Namespace) -> None:
    from textclf.localcloud.server import serve_forever

    serve_forever(args.port, Path(args.env_file))


def cmd_serve(args: argparse.Namespace) -> None:
    """The inference server; also the serving image's `serve` program (SageMaker contract)."""
    from textclf.serving import server

    try:
        if not args.model_dir.strip():
            # Path("") is the working folder: it was searched for a model instead of being refused.
            raise server.ModelDirError(
                f"--model-dir (or TEXTCLF_MODEL_DIR) {args.model_dir!r} names no folder: pass the model "
                "folder, e.g. --model-dir models/model (the train stage's output)"
            )
        params = _load(args)
        server.run(Path(args.model_dir), args.host, args.port, params.deploy.serve, params.model.max_length)
    except (server.ModelDirError, server.ServeError) as error:
        log(f"error: {error}")
        raise SystemExit(2) from None


def cmd_redeploy(args: argparse.Namespace) -> None:
    """Run the redeploy Lambda's handler here, against AWS_ENDPOINT_URL (the local cloud) or AWS."""
    from textclf.release import redeploy

    status = redeploy.main_cli(args.event)
    if status:
        raise SystemExit(status)


def cmd_gate(args: argparse.Namespace) -> None:
    from textclf.review import freshness, gate, report
    from textclf.review.champion import EVAL_METRICS_FILE

    params = _load(args)
    metrics = gate.load_metrics(EVAL_METRICS_FILE)
    # The shape the report requires (a negative or fractional support, a class's scores that are not
    # numbers): a file the report refuses must not pass the gate either.
    report.check_eval(metrics, str(EVAL_METRICS_FILE))
    # Metrics of other params, data or code than the workspace's are refused (exit 2), as dvc
    # status finds them; in CI the gate runs after `make repro-ci`, in the pipeline's workspace.
    note = freshness.check()
    if note:
        log(note)
    verdict = gate.run(params, args.base, args.champion)
    with folded_output():  # a note names the champion's file and both class lists
        for line in gate.summary(verdict):
            log(line)
    log(f"wrote {gate.VERDICT_FILE}")
    if verdict["verdict"] != "pass":
        raise SystemExit(1)  # the PR check goes red; the report shows why


def cmd_report(args: argparse.Namespace) -> None:
    from textclf.review import freshness, gate, report

    params = _load(args)
    # The report states the gate's verdict: on metrics of other params, data or code it would show a
    # pass those never earned (issue 29), so it refuses them as the gate does (exit 2).
    note = freshness.check()
    if note:
        log(note)
    verdict = report.write(params, args.base, args.champion, args.commit_sha)
    log(f"wrote {report.REPORT_FILE} and {gate.VERDICT_FILE} (gate: {verdict['verdict']})")


def cmd_champion(args: argparse.Namespace) -> None:
    import json

    from textclf.review import champion

    params = _load(args)
    if args.action == "record":
        if not args.model_version:
            raise champion.ChampionError("record needs --model-version (the released model's commit)")
        payload = champion.record(
            params.aws.resolved(),
            Path(args.metrics),
            args.model_version,
            params.evaluate.main_metric,
            in_repository=True,
            task=params.data.task,
        )
        log(f"recorded model {payload['model_version']} as production's metrics")
        return
    lookup = champion.find(params.aws.resolved(), args.base, args.champion, task=params.data.task)
    found = lookup.champion
    print(json.dumps({"note": lookup.note, "champion": None if found is None else found.__dict__}, indent=2))


def _print_json(payload: object) -> None:
    import json

    print(json.dumps(payload, indent=2))


def cmd_publish(args: argparse.Namespace) -> None:
    from textclf.release import promote

    manifest = promote.publish(args.commit, _load(args).aws.resolved())
    log(f"published the model of {manifest['commit']}: {manifest['model_data_url']}")
    _print_json({key: value for key, value in manifest.items() if key != "metrics"})


def cmd_release_commit(args: argparse.Namespace) -> None:
    from textclf.release import promote

    if args.commit:
        print(promote.check_commit(args.commit))
        return
    if not (args.repository and args.sha):
        raise promote.ReleaseError("pass --commit, or --repository and --sha (GITHUB_REPOSITORY, GITHUB_SHA)")
    print(promote.reviewed_commit(args.repository, args.sha))


def cmd_release_check(args: argparse.Namespace) -> None:
    from textclf.release import promote

    aws = _load(args).aws.resolved()
    commit = promote.check_merged(args.commit)  # on main: a rollback by hand included
    manifest = promote.find_artifact(commit, aws)
    promote.verify_archive(commit, manifest, aws)
    log(f"commit {commit} is on main and has a published, verified model: {manifest['model_data_url']}")


def cmd_production_commit(args: argparse.Namespace) -> None:
    """The commit production serves, from the champion record (empty before the first release)."""
    from textclf.review import champion

    found = champion.read_production(_load(args).aws.resolved())
    if found is None:
        print("")
        return
    # release.yml keeps it as the bake's rollback target, before promote: a record without a full
    # commit ("unknown" for none, a short sha) made the bake refuse it only after production had
    # changed, and the release went out unwatched (R13B-21). Refused here, production is untouched.
    if not champion.FULL_COMMIT.fullmatch(found.model_version):
        raise champion.ChampionError(
            f"{found.location}: model_version {found.model_version!r} is not a full git commit (40 "
            "lowercase hex digits), so a release would have no model to roll back to; record the model "
            "production serves again: make champion-record MODEL_VERSION=<its full commit>"
        )
    print(found.model_version)


def cmd_staging_check(args: argparse.Namespace) -> None:

    from textclf.release import promote, staging

    staging.check_endpoint_name(args.endpoint)
    commit = staging.check_commit_option(args.commit)
    params = _load(args)
    aws = params.aws.resolved()
    if commit is not None:  # the split published with the model, checked against its manifest
        texts, expected = promote.published_test_split(commit, aws)
    else:  # this checkout's outputs (dvc pull or dvc repro)
        texts, expected = staging.test_split(Path(params.data.prepared_dir), Path("plots/confusion.csv"))
    runtime = promote.aws_client("sagemaker-runtime", aws)
    summary = staging.check(params, args.endpoint, runtime, texts, expected)
    report = staging.markdown(summary)
    staging.write_job_summary(report)
    print(report)
    if not summary["passed"]:
        raise staging.StagingError("; ".join(summary["problems"]))


def cmd_bake(args: argparse.Namespace) -> None:
    """Watch production's alarms; on an alarm, promote the previous model again and fail."""

    from textclf.release import promote, staging

    targets = _targets(args)
    params = _load(args)
    settings, aws = params.deploy.staging, params.aws.resolved()
    # Checked before the watch: a bad commit found only once an alarm fired would leave no rollback.
    previous = promote.check_commit(args.previous) if args.previous else None
    alarms = [name.strip() for name in args.alarms.split(",") if name.strip()]
    cloudwatch = promote.aws_client("cloudwatch", aws)
    seconds = settings.bake_seconds if args.seconds is None else args.seconds
    log(f"baking: watching {alarms} for {seconds:.0f} s")
    firing = staging.watch_alarms(cloudwatch, alarms, seconds, settings.bake_poll_seconds)
    if firing is None:
        log("bake window passed without an alarm")
        staging.write_job_summary(f"### Bake: passed\n\nNo alarm of {alarms} in {seconds:.0f} s.\n")
        return
    if not previous:
        staging.write_job_summary(f"### Bake: alarm `{firing}` fired; no previous model to roll back to\n")
        raise staging.StagingError(f"alarm {firing} fired during the bake and no previous model is known")
    promote.promote(previous, aws, targets, params.evaluate.main_metric)
    message = (
        f"alarm {firing} fired during the bake: production was rolled back to {args.previous}; "
        "the release failed and the champion is the previous model again"
    )
    staging.write_job_summary(f"### Bake: FAILED\n\n{message}.\n")
    raise staging.StagingError(message)


def cmd_github_settings(args: argparse.Namespace) -> None:
    from textclf.release import github_settings

    settings = github_settings.Settings(
        repository=args.repository or "",
        reviewers=[name.strip() for name in args.reviewers.split(",") if name.strip()],
        environment=args.environment,
        branch=args.branch,
        allow_actions_prs=args.allow_actions_prs,
    )
    for line in github_settings.apply(settings, github_settings.gh_api()):
        log(f"set and verified: {line}")


def _targets(args: argparse.Namespace):
    """--function and --endpoint (or their variables) as names AWS takes, checked before any step;
    one not given is left to promote.Targets.check, which says which variable is not set."""
    from textclf.release import promote, staging

    function = staging.check_function_name(args.function)
    endpoint = None if args.endpoint is None else staging.check_endpoint_name(args.endpoint)
    return promote.Targets(function, endpoint)


def cmd_promote(args: argparse.Namespace) -> None:
    from textclf.release import promote

    targets = _targets(args)
    params = _load(args)
    deployment = promote.promote(
        args.commit, params.aws.resolved(), targets, params.evaluate.main_metric, task=params.data.task
    )
    log(f"released {deployment['commit']} to {deployment['endpoint']}")
    _print_json(deployment)


def cmd_batch_predict(args: argparse.Namespace) -> None:
    """A SageMaker Batch Transform job on the production model (docs/batch-and-api.md)."""
    from textclf.batch import job
    from textclf.pipeline.own_data import name_problem
    from textclf.release.staging import check_endpoint_name

    params = _load(args)
    check_endpoint_name(args.endpoint)  # '-x', 'a b', 80 characters went to SageMaker
    for option, value in (("--report", args.report), ("--job-file", args.job_file)):
        if value and (problem := name_problem(value)) is not None:
            raise job.BatchError(f"{option} {value!r}: {problem} (nothing was started)")
    result = job.run(
        params.batch,
        params.deploy.serve,
        params.aws.resolved(),
        args.input,
        args.output,
        args.endpoint,
        log,
        check=not args.skip_check,
        report=Path(args.report) if args.report else None,
        job_file=Path(args.job_file) if args.job_file else None,
    )
    _print_json(result)


def cmd_batch_stop(args: argparse.Namespace) -> None:
    from textclf.batch import job

    params = _load(args)
    job.stop_recorded(Path(args.job_file), params.aws.resolved(), log)


def cmd_pull_data(args: argparse.Namespace) -> None:
    from textclf.release import retrain

    retrain.pull_data()
    log("data pulled from the DVC remote")


def cmd_retrain_import(args: argparse.Namespace) -> None:
    from textclf.release import retrain

    params = _load(args)
    retrain.pull_data()
    summary = retrain.import_incoming(params.aws.resolved(), params.data)
    if summary.changed:
        retrain.commit_and_push()
    retrain.write_summary(summary)
    for note in retrain.skipped_notes(summary):
        log(note)
    repeats = f", {len(summary.repeats)} only repeating the dataset" if summary.repeats else ""
    log(
        f"incoming: {len(summary.new)} new, {len(summary.updated)} changed, {len(summary.unchanged)} already "
        f"imported{repeats}, {len(summary.skipped)} skipped" + ("" if summary.changed else "; no new data")
    )


def cmd_retrain_pr(args: argparse.Namespace) -> None:
    from textclf.release import retrain

    retrain.open_pr(base=args.base)


def cmd_rehearse(args: argparse.Namespace) -> None:
    from textclf import rehearse

    rehearse.main(args.workflow, keep=args.keep)


def cmd_clean_keep(args: argparse.Namespace) -> None:
    """`make clean`'s list of what it must not remove (config.folders_to_keep), each as setting NUL
    folder NUL. A command of its own, not `python -m textclf.config`, so that a Ctrl-C while it loads
    says "interrupted" as every command does (R13A-1)."""
    from textclf.config import folders_to_keep

    sys.stdout.write("".join(f"{setting}\0{folder}\0" for setting, folder in folders_to_keep(args.params)))


def cmd_check_base(args: argparse.Namespace) -> None:
    """`make plots-page`'s check of the base's YAML files DVC reads (params.yaml, dvc.yaml, dvc.lock),
    before `dvc plots diff` reads them, as the report checks them before its DVC diffs (R14A-8)."""
    from textclf.review.champion import resolve_ref
    from textclf.review.report import check_base_yaml

    resolve_ref(args.base)  # a ref that is not there, named as the report names it
    check_base_yaml(args.base)


def _champion_source(value: str) -> str:
    """--champion's value. argparse's own refusal ("invalid choice: 'Main' (choose from ...)") named
    neither the make variable the targets pass it from nor the one to set (R13A-6); the make
    targets pass CHAMPION as --champion, as they pass REPORT_BASE as --base (champion.MAKE_BASE)."""
    from textclf.review.champion import SOURCES

    if value in SOURCES:
        return value
    case = f" (lower case: {value.lower()})" if value.lower() in SOURCES else ""
    raise argparse.ArgumentTypeError(
        f"{value!r} is none of {', '.join(SOURCES)}{case}: pass --champion auto (the artifacts bucket "
        "when AWS credentials are configured, else main), bucket or main (make: CHAMPION=auto, "
        "CHAMPION=bucket or CHAMPION=main)"
    )


def _comparison_args(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from textclf.review.champion import SOURCES

    command.add_argument("--base", default="main", help="git ref to compare with (default: %(default)s)")
    command.add_argument(
        "--champion",
        type=_champion_source,
        choices=SOURCES,
        default="auto",
        help="where production's metrics come from: bucket, main, or auto (bucket when AWS credentials "
        "are configured, else main; default)",
    )
    return command


class _Command(argparse.ArgumentParser):
    """A subcommand's parser that can take arguments from a module loaded only when that subcommand
    is the one parsed: argparse hands the words after the command's name to its parse_known_args
    (`textclf gate` loaded the inference server and numpy to list `serve`'s flags; R13A-1)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.deferred: list[Callable[[argparse.ArgumentParser], None]] = []

    def parse_known_args(self, args=None, namespace=None):
        while self.deferred:
            self.deferred.pop(0)(self)
        return super().parse_known_args(args, namespace)


def _serve_arguments(command: argparse.ArgumentParser) -> None:
    from textclf.serving import server

    server.add_arguments(command)


def build_parser() -> argparse.ArgumentParser:
    from textclf.config import PARAMS_FILE

    parser = argparse.ArgumentParser(prog="textclf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Command)

    def add(name: str, handler: Callable, help_text: str, params: bool = True) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        if params:
            command.add_argument(
                "--params", default=str(PARAMS_FILE), help="params file (default: %(default)s)"
            )
        command.set_defaults(handler=handler)
        return command

    sample = add("sample-data", cmd_sample_data, "Write the bundled sample dataset", params=False)
    sample.add_argument("--out", default="data/raw", help="folder to write messages.csv to")
    sample.add_argument(
        "--force", action="store_true", help="replace an existing messages.csv that is not the sample"
    )
    data = add("data", cmd_data, "Materialise data/raw: the bundled sample, or dvc pull", params=False)
    data.add_argument("--out", default="data/raw", help="the folder data.dvc tracks")
    data.add_argument("--dvc-file", default="data.dvc", help="the .dvc file that pins the raw data")
    data.add_argument(
        "--force",
        action="store_true",
        help="write the sample even where --out holds files that are not the sample (replaces messages.csv)",
    )
    use = add(
        "use-data",
        cmd_use_data,
        "Make your own CSV/JSONL/Parquet file the data: copied into data.raw_dir, its columns and "
        "labels set in params.yaml, dvc add; never replaces files it did not write without --force",
    )
    use.set_defaults(fold_errors=True)
    use.add_argument("file", help="your data file (.csv, .jsonl or .parquet), one text and one label a row")
    use.add_argument("--text-column", default="text", help="the text's column (default: %(default)s)")
    use.add_argument("--label-column", default="label", help="the label's column (default: %(default)s)")
    use.add_argument(
        "--labels",
        help="the classes, comma-separated, in the order the model numbers them (default: every label "
        "in the file, sorted)",
    )
    use.add_argument(
        "--task",
        help="the task's short name, data.task in params.yaml (e.g. spam): the gate compares a model only "
        "with a champion of the same task (default: params.yaml's, unchanged)",
    )
    use.add_argument(
        "--empty-text",
        help="a row whose text is empty: error (stop, naming the rows) or drop (dropped and counted); "
        "data.empty_text in params.yaml (default: params.yaml's, unchanged)",
    )
    use.add_argument("--dvc-file", default="data.dvc", help="the .dvc file that tracks the raw data")
    use.add_argument(
        "--force", action="store_true", help="replace files in the data folder that use-data did not write"
    )
    _comparison_args(
        add(
            "summary",
            cmd_summary,
            "Print this run's results in 100 columns: metrics, per class, the gate, training, next steps",
        )
    )
    add("prepare", cmd_prepare, "Stage prepare: validate, clean and split the raw data")
    add("train", cmd_train, "Stage train: fine-tune the model (local or SageMaker backend)")
    add("train-job", cmd_train_job, "The training container's entry point (SageMaker contract)", params=False)
    add("evaluate", cmd_evaluate, "Stage evaluate: metrics, confusion matrix, threshold verdict")
    cloud = add("local-cloud", cmd_local_cloud, "Run the local cloud (moto) until interrupted", params=False)
    cloud.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: a free one)")
    cloud.add_argument(
        "--env-file",
        type=_env_file,
        default=".localcloud/env",
        help="where to write the client environment (deleted when the cloud stops)",
    )
    _comparison_args(add("gate", cmd_gate, "Judge metrics/eval.json on thresholds and against production"))
    report = _comparison_args(add("report", cmd_report, "Write the PR report reports/report.md"))
    report.add_argument("--commit-sha", help="commit the model came from (CI: the PR head; default: HEAD)")
    champ = _comparison_args(add("champion", cmd_champion, "Show the champion, or record it at release"))
    champ.add_argument("action", choices=("show", "record"), help="show production's metrics, or record them")
    champ.add_argument(
        "--model-version",
        help="record: the full git commit (40 hex digits) of the released model, one with a published model",
    )
    champ.add_argument("--metrics", default="metrics/eval.json", help="record: metrics file (%(default)s)")
    serve = add("serve", cmd_serve, "Run the inference server (GET /ping, POST /invocations)")
    serve.deferred.append(_serve_arguments)  # its flags load the server module (numpy): `serve` only
    redeploy = add("redeploy", cmd_redeploy, "Run the endpoint-redeploy Lambda handler locally", params=False)
    redeploy.add_argument("--event", required=True, help="JSON event file (schema: textclf.release.redeploy)")
    _release_commands(add)
    # Not listed in --help: the Makefile's clean recipe reads it.
    keep = sub.add_parser("clean-keep", description=cmd_clean_keep.__doc__.splitlines()[0])
    keep.add_argument("--params", default=str(PARAMS_FILE), help="params file (default: %(default)s)")
    keep.set_defaults(handler=cmd_clean_keep)
    # Not listed in --help either: `make plots-page` runs it before `dvc plots diff`.
    check_base = sub.add_parser("check-base", description=cmd_check_base.__doc__.splitlines()[0])
    check_base.add_argument("--base", default="main", help="git ref DVC compares with (default: %(default)s)")
    check_base.set_defaults(handler=cmd_check_base)
    batch = add(
        "batch-predict",
        cmd_batch_predict,
        "Batch Transform job on the production model: JSON lines in, joined predictions out",
    )
    batch.add_argument(
        "--input",
        required=True,
        help='s3:// prefix of the JSON lines input, one {"inputs": text, ...} a line',
    )
    batch.add_argument("--output", required=True, help="s3:// prefix the results go to (<input file>.out)")
    batch.add_argument(
        "--endpoint",
        default=os.environ.get("TEXTCLF_ENDPOINT_NAME"),
        help="the endpoint whose live model to use (default: $TEXTCLF_ENDPOINT_NAME)",
    )
    batch.add_argument("--report", help="also write the job's facts to this JSON file")
    batch.add_argument("--job-file", help="write the job's name here once started (for batch-stop)")
    batch.add_argument(
        "--skip-check",
        action="store_true",
        help="start without reading the input first (huge inputs); the job itself fails on a bad record",
    )
    stop = add(
        "batch-stop", cmd_batch_stop, "Stop the transform job batch-predict recorded (a cancelled run)"
    )
    stop.add_argument("--job-file", required=True, help="the file batch-predict --job-file wrote")
    return parser


def _port(text: str) -> int:
    """--port: 0 (a free one) to 65535, digits only (99999 once served on another port without a
    word, -1 ended in an OverflowError traceback)."""
    if not (text.isascii() and text.isdigit() and int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number 0-65535 (0: a free one)")
    return int(text)


def _env_file(text: str) -> str:
    """--env-file: a file local-cloud writes the clients' environment to and deletes when it stops.
    '' started the cloud and wrote no file without a word; an existing file other than one
    local-cloud wrote (README.md) would be overwritten, then deleted."""
    import re
    import unicodedata

    if not text.strip() or text != text.strip() or any(unicodedata.category(c) == "Cc" for c in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} names no file (blank, a space at either end or a control character): pass the file "
            "to write the clients' environment to, e.g. --env-file .localcloud/env (the default)"
        )
    try:
        _plain_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} {error}: e.g. --env-file .localcloud/env") from None
    path = Path(text)
    try:
        if any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in path.parts):
            # Checked before local-cloud makes its folder (x/<300 characters> left an empty x).
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        is_dir, found = path.is_dir(), path.exists() or path.is_symlink()
    except (OSError, ValueError) as error:  # a name longer than the file system takes (ENAMETOOLONG)
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r}{'...' if len(text) > 60 else ''} is not a usable file name ({reason}): pass a "
            "file, e.g. --env-file .localcloud/env"
        ) from None
    if is_dir:
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: pass a file (--env-file .localcloud/env)")
    if found:
        # Light: the marker's module loads moto only when a cloud starts.
        from textclf.localcloud.server import ENV_FILE_MARKER

        try:
            lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [""]
        except (OSError, ValueError):
            lines = [""]
        ours = lines[:1] == [ENV_FILE_MARKER]
        if not ours or not all(re.fullmatch(r"export [A-Z_][A-Z0-9_]*=\S*", line) for line in lines[1:]):
            raise argparse.ArgumentTypeError(
                f"{text!r} exists and is not an environment file local-cloud wrote (local-cloud writes it "
                "and deletes it when it stops): pass a new file, e.g. --env-file .localcloud/env"
            )
    return text


def _bake_seconds(text: str) -> float:
    """--seconds: a finite number of seconds, more than 0 and at most a day (`nan` once looped without
    sleeping, a negative value passed after one look)."""
    import math

    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(seconds) and 0 < seconds <= 86_400):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds more than 0 and at most 86400")
    return seconds


def _release_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Release and retraining steps of the workflows (docs/workflows.md)."""
    env = os.environ.get
    commit_help = "the commit the model was trained from (default: $COMMIT)"
    publish = add("publish", cmd_publish, "Upload the reviewed model and metrics to models/<commit>/")
    publish.add_argument("--commit", default=env("COMMIT"), help=commit_help)
    which = add(
        "release-commit", cmd_release_commit, "Print the commit whose model a release promotes", False
    )
    which.add_argument("--commit", default=env("REQUESTED_COMMIT"), help="release this commit (by hand)")
    which.add_argument("--repository", default=env("GITHUB_REPOSITORY"), help="owner/name")
    which.add_argument("--sha", default=env("GITHUB_SHA"), help="the merged commit")
    check = add("release-check", cmd_release_check, "Fail unless the commit has a published model")
    check.add_argument("--commit", default=env("COMMIT"), help=commit_help)
    promote = add("promote", cmd_promote, "Redeploy the endpoint to a commit's model, smoke-test, record it")
    promote.add_argument("--commit", default=env("COMMIT"), help=commit_help)
    promote.add_argument("--function", default=env("TEXTCLF_REDEPLOY_FUNCTION"), help="redeploy Lambda name")
    promote.add_argument("--endpoint", default=env("TEXTCLF_ENDPOINT_NAME"), help="SageMaker endpoint name")
    add(
        "production-commit",
        cmd_production_commit,
        "Print the commit the environment serves (its champion record)",
    )
    add("pull-data", cmd_pull_data, "dvc pull data.dvc; says to `dvc push` if nobody did", False)
    add(
        "retrain-import", cmd_retrain_import, "Import new data from the incoming/ prefix, dvc commit and push"
    )
    retrain_pr = add(
        "retrain-pr", cmd_retrain_pr, "Open a PR with the new data.dvc (nothing if unchanged)", False
    )
    retrain_pr.add_argument("--base", default="main", help="base branch (default: %(default)s)")
    staging_check = add(
        "staging-check", cmd_staging_check, "Replay the test split, latency, burst on staging"
    )
    staging_check.add_argument(
        "--endpoint", default=env("TEXTCLF_ENDPOINT_NAME"), help="the staging endpoint"
    )
    staging_check.add_argument(
        "--commit",
        default=env("COMMIT") or None,  # an empty COMMIT is "not given", as make staging-check reads it
        help="replay the test split published with this commit's model (default: this checkout's outputs)",
    )
    bake = add("bake", cmd_bake, "Watch production's alarms; an alarm rolls back to --previous")
    bake.add_argument("--alarms", default=env("TEXTCLF_BAKE_ALARMS", ""), help="alarm names, comma-separated")
    bake.add_argument("--previous", default=env("PREVIOUS_COMMIT"), help="the model to roll back to")
    bake.add_argument(
        "--seconds",
        type=_bake_seconds,
        default=None,
        help="override deploy.staging.bake_seconds (more than 0, at most 86400)",
    )
    bake.add_argument("--function", default=env("TEXTCLF_REDEPLOY_FUNCTION"), help="redeploy Lambda name")
    bake.add_argument("--endpoint", default=env("TEXTCLF_ENDPOINT_NAME"), help="SageMaker endpoint name")
    settings = add(
        "github-settings",
        cmd_github_settings,
        "Apply and verify the repository settings releases rely on",
        False,
    )
    settings.add_argument("--repository", default=env("GITHUB_REPOSITORY"), help="owner/name")
    settings.add_argument(
        "--reviewers", default=env("PRODUCTION_REVIEWERS", ""), help="logins, comma-separated"
    )
    settings.add_argument("--environment", default="production", help="the release environment")
    settings.add_argument("--branch", default="main", help="the release branch")
    settings.add_argument("--allow-actions-prs", action="store_true", help="let Actions open PRs (retrain)")
    rehearse = add("rehearse", cmd_rehearse, "Run a workflow's steps against the local cloud, offline", False)
    rehearse.add_argument("workflow", choices=("pr", "release"), help="pr, or release (pr, merge, release)")
    rehearse.add_argument("--keep", action="store_true", help="keep the temporary repository copy")


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C (or SIGINT from a process group: make, dvc) is "interrupted" and 130 from the first line
    # on: building the parser loads config (pydantic) and reading the arguments a command's modules, a
    # few tenths of a second a person who presses it right after Enter lands in (R13A-1).
    try:
        return _main(argv)
    except KeyboardInterrupt:
        log(interrupted_message())
        return 130


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    # An error a person reads in a terminal is folded at 100 columns, whatever the command (a refusal
    # naming a file, a row and what to do runs to 300 columns), and so is a newcomer's first command's
    # (use-data), as its report, wherever it goes. Elsewhere an error stays one line: scripts, workflow
    # logs (whose viewer wraps lines itself) and tests read it whole. A CI job (GITHUB_ACTIONS=true)
    # counts as a log even on a terminal: act runs each step on one, GitHub's runner on pipes, and
    # the rehearsal's logs should read as GitHub's.
    terminal = _is_terminal(sys.stderr) and os.environ.get("GITHUB_ACTIONS") != "true"
    folded = folded_output if terminal or getattr(args, "fold_errors", False) else contextlib.nullcontext
    try:
        args.handler(args)
    except KeyboardInterrupt:
        raise  # main's; before _user_errors() below loads the modules of every command
    except _user_errors() as error:
        with folded():
            log(f"error: {error}")
        return 2
    except BrokenPipeError:  # the program reading this one's output went first: no file is at fault
        code = reader_gone()
        log("stopped: the program reading this command's output closed it first; run the command again")
        return code
    except OSError as error:  # the machine's refusal (permissions, a full disk): the file and why
        where = f"{error.filename}: " if error.filename else ""
        with folded():
            log(f"error: {where}{error.strerror or error}; check the path, its permissions and free space")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
