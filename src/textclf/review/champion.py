"""The champion: the metrics of the model in production, which a candidate must not fall behind.

At release (merge to main, after the endpoint is verified) `textclf champion record` writes the
released model's evaluation metrics to `s3://<artifacts bucket>/production/metrics.json`, with the
model version (the git commit that produced it) and a timestamp. The gate and the PR report read
that record back with `find`.

Where the reference comes from (`source`):
- `bucket`: the production record. When no release has been recorded yet, main's committed
  `metrics/eval.json` stands in for it; when main has none either, there is no champion (the first
  model is judged on thresholds alone). Any other failure to read the bucket is an error: a gate
  that silently skipped the comparison could pass a model worse than production.
- `main`: main's committed metrics, without touching AWS.
- `auto`: `bucket` when AWS credentials are configured (CI), else `main`, so `make report` works
  on a laptop with no AWS account.

A new task is not compared with the old one, and a new name alone is not a new task. Each model's
task is its params.yaml `data.task` (main's committed params.yaml for main's metrics; production's
record, written by `champion record`, for production). The name is a claim and the classes are the
evidence: when the candidate's task differs from the champion's and its classes differ too (added,
removed or all new), the champion's figures say nothing about the candidate, so there is no
champion and the note says why; the gate then judges on thresholds alone. When the task differs
but the classes are the champion's (the same set, in any order), or either side's classes cannot
be read, the task was renamed, not replaced: the comparison stays (one word in params.yaml must not
take a regression past production), and the note says the task was renamed but compared. When
either task is unknown (a record written before tasks were named), the classes decide: a candidate
whose classes share none with the champion's (the bundled six-intent sample on main, a spam/ham
model in the pull request) is a new task too, and so is one whose classes share none with the
champion's under the same task, unless its test split holds as many rows in each class as the
champion's: that is the champion's data with every class renamed (`relabelled`), compared. Classes
added or removed on the same task keep the comparison, and the note names them. Classes are compared
as prepare compares labels (class_key): `Account`, `ACCOUNT` and `account` are one class. Either
side's classes unknown (no `per_class` object with at least one class): compared as before, never a
way around the champion. `Lookup.comparison` (and
reports/gate.json's `comparison`) names the path taken: COMPARED, RENAMED, NEW_TASK or NO_CHAMPION.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from textclf import atomic, awsclient
from textclf.config import (
    DEFAULT_TASK,
    PARAMS_FILE,
    AwsParams,
    ParamsError,
    read_params_bytes,
    task_name_problem,
    without_presentation_selectors,
)
from textclf.verdict import GRAPH_FILES, RERUN_EVALUATE, Champion, is_score

PRODUCTION_KEY = "production/metrics.json"
EVAL_METRICS_FILE = Path("metrics/eval.json")
# A model version is the git commit that produced the model (as the redeploy Lambda requires).
COMMIT = re.compile(r"[0-9a-f]{7,40}")
# What `champion record` takes: the full commit its published model is filed under.
FULL_COMMIT = re.compile(r"[0-9a-f]{40}")
# The manifest the publish step writes last under the commit's folder of the models bucket (the
# layout of textclf.release.promote's Artifact): a commit without one has no published model.
PUBLISHED_MANIFEST = "models/{commit}/manifest.json"
Source = Literal["auto", "bucket", "main"]
SOURCES: tuple[str, ...] = ("auto", "bucket", "main")


class ChampionError(RuntimeError):
    """The production record cannot be read or written, or is malformed."""


# Which path the champion lookup took (reports/gate.json `comparison`).
COMPARED = "compared"  # a champion of the same task (its classes may have changed: the note says)
RENAMED = "renamed task, compared"  # data.task differs, the classes mostly do not: compared all the same
NEW_TASK = "new task, not compared"  # another task with mostly other classes, or classes sharing none
NO_CHAMPION = "no champion"  # no release recorded and no committed metrics on the base


@dataclass(frozen=True)
class Lookup:
    """The champion, or None, and one sentence saying where it came from or why there is none;
    `comparison`: the path taken (COMPARED, RENAMED, NEW_TASK, NO_CHAMPION)."""

    champion: Champion | None
    note: str
    comparison: str = COMPARED


def production_url(bucket: str) -> str:
    return f"s3://{bucket}/{PRODUCTION_KEY}"


def _s3(aws: AwsParams) -> Any:
    """An S3 client; an AWS setting boto3 cannot use is a ChampionError naming it."""
    try:
        return awsclient.aws_client("s3", aws.region)
    except awsclient.AwsSettingError as error:
        raise ChampionError(f"the champion in s3://{aws.artifacts_bucket}: {error}") from None


def have_aws_credentials() -> bool:
    try:
        return awsclient.have_aws_credentials()
    except awsclient.AwsSettingError as error:
        raise ChampionError(f"the champion (--champion auto looks for AWS credentials): {error}") from None


# ---------------------------------------------------------------------------------------------
# Reading


def read_production(aws: AwsParams) -> Champion | None:
    """The production record, or None when no release has been recorded yet."""
    from botocore.exceptions import BotoCoreError, ClientError

    url = production_url(aws.artifacts_bucket)
    try:
        body = _s3(aws).get_object(Bucket=aws.artifacts_bucket, Key=PRODUCTION_KEY)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise ChampionError(
            f"cannot read {url}: {error}. Check the AWS credentials and the artifacts bucket "
            "(params.yaml aws.artifacts_bucket or TEXTCLF_ARTIFACTS_BUCKET), or compare with main's "
            "committed metrics instead (--champion main)"
        ) from None
    except BotoCoreError as error:
        raise ChampionError(
            f"cannot read {url}: {error}. Compare with main's committed metrics instead (--champion main)"
        ) from None
    return parse_record(body, url)


def parse_record(body: bytes, url: str) -> Champion:
    try:
        record = json.loads(body, object_pairs_hook=atomic.unique_keys)
    except atomic.DuplicateKey as duplicate:
        raise ChampionError(
            f"{url}: key {duplicate.key!r} is given twice in one object; record it again at the next release"
        ) from None
    except RecursionError:
        raise ChampionError(f"{url}: nested too deeply; record it again at the next release") from None
    except ValueError as error:  # an empty object, bytes that are not UTF-8
        again = "record it again at the next release (textclf champion record)"
        raise ChampionError(atomic.json_refusal(url, body, error, again)) from None
    if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict):
        raise ChampionError(
            f"{url}: expected an object with a `metrics` object (written by textclf champion record)"
        )
    version = record.get("model_version")
    if version is not None and not (isinstance(version, str) and COMMIT.fullmatch(version)):
        # production-commit prints it for the release workflow (the bake's rollback target).
        raise ChampionError(
            f"{url}: model_version {_brief(version)} is not a git commit; record it again at the next release"
        )
    task = record.get("task")
    if task is not None and task_name_problem(task) is not None:
        raise ChampionError(
            f"{url}: task {_brief(task)} is not a task name; record it again at the next release"
        )
    return Champion(
        origin="production",
        metrics=record["metrics"],
        location=url,
        model_version=str(record.get("model_version") or "unknown"),
        recorded_at=str(record.get("recorded_at") or "unknown"),
        task=task,
    )


# The make targets pass REPORT_BASE as --base, in one word (`--base=-x` is the value -x, where
# `--base -x` was argparse's "expected one argument" on an option nobody typed: R13A-6).
MAKE_BASE = "(make: REPORT_BASE=main)"


def resolve_ref(ref: str) -> str:
    """The commit `ref` names, or an error telling how to make it available (CI clones shallowly)."""
    if not ref.strip():
        raise ChampionError(
            f"--base is empty: pass the branch the pull request merges into, e.g. --base main {MAKE_BASE}"
        )
    if ref.startswith("-"):
        raise ChampionError(
            f"--base {_brief(ref)} is an option, not a git ref: pass a branch, e.g. --base main {MAKE_BASE}"
        )
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return result.stdout.strip()
    # An object this repository holds that is no commit (a blob or tree sha, a tag of one) is named
    # as what it is: fetching, the advice for a missing branch, would never make it a commit.
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", ref], capture_output=True, text=True
    )
    if found.returncode == 0:
        kind = subprocess.run(["git", "cat-file", "-t", found.stdout.strip()], capture_output=True, text=True)
        if kind.stdout.strip() == "commit":
            # A name `<ref>^{commit}` reads otherwise: `:/fix` searches commit messages, and
            # `:/fix^{commit}` searched for "fix^{commit}" ("is a commit ..., not a commit"). Such a
            # name cannot be passed on (`git show <ref>:<path>`, DVC's diffs): the commit itself can.
            sha = found.stdout.strip()
            raise ChampionError(
                f"git ref {ref!r} finds commit {sha[:12]}, but not as a name the report and DVC can pass "
                f"on (a search of commit messages?): pass the commit itself, --base {sha}, or a branch"
            )
        raise ChampionError(
            f"git ref {ref!r} is a {kind.stdout.strip() or 'object'} of this repository, not a commit "
            "(--base): pass the branch the pull request merges into, e.g. --base main"
        )
    branch = subprocess.run(["git", "check-ref-format", "--branch", ref], capture_output=True)
    if branch.returncode == 0 and ref != "HEAD":
        # A branch CI has not fetched (a shallow clone holds the PR's head only).
        refspec = shlex.quote(f"{ref}:{ref}")
        raise ChampionError(
            f"git ref {ref!r} not found: fetch it first (git fetch --depth=1 origin {refspec}), "
            "or pass another base with --base"
        )
    raise ChampionError(
        f"git ref {ref!r} is not a commit of this repository (--base): pass the branch the pull "
        "request merges into, e.g. --base main"
    )


# The local branch main, and main as the remote holds it: the release workflow runs on the
# remote's main, so what main released is origin/main. A local main with commits origin/main lacks
# (committed on main, or a branch merged into it, and not pushed) holds metrics nothing released,
# this very model's perhaps: compared with them, the model would be its own champion.
LOCAL_MAIN = "refs/heads/main"
REMOTE_MAIN = "refs/remotes/origin/main"


@dataclass(frozen=True)
class Base:
    """The ref compared with, and (`note`) why it is not the ref asked for."""

    ref: str
    note: str | None = None


def _commit_of(ref: str) -> str | None:
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _commits_between(older: str, newer: str) -> int | None:
    result = subprocess.run(
        ["git", "rev-list", "--count", f"{older}..{newer}"], capture_output=True, text=True
    )
    return int(result.stdout) if result.returncode == 0 and result.stdout.strip().isdigit() else None


def released_base(ref: str) -> Base:
    """What the report and the gate compare with when asked for `ref`: `ref` itself, unless it names
    the commit of the local branch main while origin/main (what main released) is another commit;
    then origin/main, with a note naming both commits and how they differ. A local main ahead of
    origin/main holds commits nothing released, perhaps this model's own metrics (the model would
    be compared with itself and pass the champion check whatever it is); one behind holds an older
    release. Without origin/main (no remote, or never fetched) `ref` stays as it is."""
    if not ref.strip() or ref.startswith("-"):
        return Base(ref)  # resolve_ref names what is wrong with it
    commit, main, released = _commit_of(ref), _commit_of(LOCAL_MAIN), _commit_of(REMOTE_MAIN)
    if None in (commit, main, released) or commit != main or main == released:
        return Base(ref)
    # `origin/main` unless a branch or tag of that name hides the remote's main.
    name = "origin/main" if _commit_of("origin/main") == released else REMOTE_MAIN
    ahead, behind = _commits_between(released, main), _commits_between(main, released)
    if ahead and not behind:
        plural = "s" if ahead > 1 else ""
        how = f"is {ahead} commit{plural} ahead of {name} ({released[:12]}), not pushed, so not released"
    elif behind and not ahead:
        plural = "s" if behind > 1 else ""
        how = f"is {behind} commit{plural} behind {name} ({released[:12]}); git pull updates it"
    else:
        how = f"has diverged from {name} ({released[:12]})"
    asked = "" if ref in ("main", "heads/main", LOCAL_MAIN) else f", the base {ref!r} names"
    return Base(name, f"local main ({main[:12]}{asked}) {how}: compared with {name}, what main released")


def committed_json(ref: str, path: Path) -> dict[str, Any] | None:
    """A JSON file as committed at `ref` (path relative to the current folder), or None if absent."""
    resolve_ref(ref)
    # `./` makes git read the path relative to the current folder, not the repository root.
    result = subprocess.run(["git", "show", f"{ref}:./{path.as_posix()}"], capture_output=True)
    if result.returncode != 0:
        return None
    try:
        payload = json.loads(result.stdout, object_pairs_hook=atomic.unique_keys)
    except atomic.DuplicateKey as duplicate:
        raise ChampionError(f"{ref}:{path}: key {duplicate.key!r} is given twice in one object") from None
    except RecursionError:
        raise ChampionError(f"{ref}:{path}: nested too deeply to be the pipeline's metrics") from None
    except ValueError as error:  # an empty file, one saved with a byte order mark
        remedy = (
            f"commit the file the pipeline writes (dvc repro) on {ref}, or compare with production "
            "(--champion bucket)"
        )
        raise ChampionError(atomic.json_refusal(f"{ref}:{path}", result.stdout, error, remedy)) from None
    if not isinstance(payload, dict):
        # Not "absent": taken as a first PR, the comparison (and the data rules) would be skipped.
        raise ChampionError(
            f"{ref}:{path}: expected a JSON object, not {type(payload).__name__}; restore the file "
            f"the pipeline wrote on {ref}, or compare with production (--champion bucket)"
        )
    return payload


def classes(metrics: Any) -> frozenset[str] | None:
    """The classes an evaluation covers (its `per_class` keys), or None when it does not say."""
    per_class = metrics.get("per_class") if isinstance(metrics, dict) else None
    if not isinstance(per_class, dict) or not per_class:
        return None
    return frozenset(str(label) for label in per_class)


def _listed(labels: frozenset[str], limit: int = 8) -> str:
    ordered = sorted(labels)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def class_key(label: str) -> str:
    """What a class is, compared across two models as prepare compares labels within one: NFKC, case
    folded, spaces collapsed, emoji presentation selectors set aside. `Account`, `ACCOUNT` and
    `account` are one class: all classes renamed by case shared none, so a worse model was a new
    task, not compared with the champion (R13A-2)."""
    folded = unicodedata.normalize("NFKC", without_presentation_selectors(label)).casefold()
    return " ".join(folded.split())


def shared(mine: frozenset[str], theirs: frozenset[str]) -> int:
    """How many of `theirs` classes `mine` keeps, spelling aside (class_key)."""
    return len({class_key(label) for label in mine} & {class_key(label) for label in theirs})


def is_new_task(candidate: Any, other: Any) -> bool:
    """Whether two evaluations are of different tasks: both name their classes and share none."""
    mine, theirs = classes(candidate), classes(other)
    return mine is not None and theirs is not None and not shared(mine, theirs)


def task_change(candidate: Any, champion: Champion) -> tuple[bool, str | None]:
    """(is a new task, a sentence on the classes) of `candidate`'s metrics against `champion`'s.

    A new task shares no class with the champion; added or removed classes are the same task, and
    so are classes spelled otherwise (case, spaces, compatibility forms: class_key)."""
    mine, theirs = classes(candidate), classes(champion.metrics)
    if mine is None or theirs is None or mine == theirs:
        return False, None
    if {class_key(label) for label in mine} == {class_key(label) for label in theirs}:
        return False, (
            f"the classes are spelled otherwise ({_changes(mine, theirs)}), the same classes once case and "
            "spaces are set aside: compared"
        )
    if is_new_task(candidate, champion.metrics):
        return True, (
            f"new task: this model's classes ({_listed(mine)}) share none with those of "
            f"{champion.describe()} ({_listed(theirs)}), so it is not compared with them; judged on "
            "thresholds alone"
        )
    return False, f"the classes changed ({_changes(mine, theirs)}): the comparison spans different class sets"


def _supports(metrics: Any) -> list[int] | None:
    """The test rows of each class (per_class supports), sorted; None when a class does not say."""
    per_class = metrics.get("per_class") if isinstance(metrics, dict) else None
    if not isinstance(per_class, dict) or not per_class:
        return None
    found = [scores.get("support") if isinstance(scores, dict) else None for scores in per_class.values()]
    return sorted(found) if all(counts(support) for support in found) else None


def relabelled(task: str | None, candidate: Any, champion: Champion) -> str | None:
    """The sentence when `candidate`'s classes share none with the champion's, yet its task is the
    champion's (params.yaml data.task, both known) and its test split holds as many rows in each class
    (the same per_class supports): the champion's data with every class renamed (`accounts` for
    `account`), compared. A same-named task with classes of its own and other data (a newcomer's spam
    filter over the bundled intents) stays a new task (R13A-2)."""
    if task is None or champion.task is None or task != champion.task:
        return None
    if not is_new_task(candidate, champion.metrics):
        return None
    mine, theirs = _supports(candidate), _supports(champion.metrics)
    if mine is None or mine != theirs or len(mine) < 2:
        return None
    moved = _changes(classes(candidate) or frozenset(), classes(champion.metrics) or frozenset())
    return (
        f"the classes were renamed ({moved}) on the same task ({task!r}) and test rows ({sum(mine):,}, as "
        f"many in each class as {champion.describe()}): compared; a new task needs a data.task of its own"
    )


def _changes(mine: frozenset[str], theirs: frozenset[str]) -> str:
    """The classes `mine` added to and removed from `theirs`, e.g. `added warranty; removed returns`."""
    moves = (("added", mine - theirs), ("removed", theirs - mine))
    return "; ".join(f"{what} {_listed(labels)}" for what, labels in moves if labels)


def committed_task(ref: str, path: Path = PARAMS_FILE) -> str | None:
    """data.task of the params file committed at `ref` (the default task when the file names none:
    it was trained as that task), or None when that cannot be read: then the task is unknown and
    the comparison stays, never a way around the champion."""
    result = subprocess.run(["git", "show", f"{ref}:./{path.as_posix()}"], capture_output=True)
    if result.returncode != 0:
        return None
    try:
        raw = read_params_bytes(result.stdout, f"{path} at {ref}")
    except ParamsError:
        return None
    data = raw.get("data") if isinstance(raw, dict) else None
    task = data.get("task", DEFAULT_TASK) if isinstance(data, dict) else DEFAULT_TASK
    return task if task_name_problem(task) is None else None


def declared_task_change(task: str | None, champion: Champion, candidate: Any) -> tuple[bool, str | None]:
    """(is a new task, the sentence) when `task` (this model's params.yaml data.task) is not the
    champion's; (False, None) when the tasks are the same or either is unknown.

    The name is a claim, the classes the evidence: another task that keeps fewer than half of the
    champion's classes (`candidate`'s metrics against the champion's) is a new task, not compared.
    The same classes (in any order), at least half of them kept (classes added or removed: a
    rename and dummy classes must not take a regression past the champion), or classes either side
    does not name, are the champion's task renamed: compared, and the sentence says so."""
    if task is None or champion.task is None or task == champion.task:
        return False, None
    mine, theirs = classes(candidate), classes(champion.metrics)
    declared = (
        f"this model's task is {task!r} (params.yaml data.task), that of {champion.describe()} is "
        f"{champion.task!r}"
    )
    # Counted against the champion's classes: dummy classes added to the candidate must not dilute
    # what it shares with the champion into "mostly other classes".
    if (
        mine is not None
        and theirs is not None
        and 2 * shared(mine, theirs) < len(set(map(class_key, theirs)))
    ):
        sentence = (
            f"new task: {declared}, and most classes differ ({_changes(mine, theirs)}), so it is not "
            "compared with it"
        )
        return True, f"{sentence}; judged on thresholds alone"
    if mine is not None and mine == theirs:
        same = f"the same classes ({_listed(mine)})"
    elif mine is not None and theirs is not None:
        same = f"mostly the same classes ({_changes(mine, theirs)})"
    else:
        same = "classes one side does not name (no per_class)"
    return False, (
        f"task renamed, compared anyway: {declared}, but with {same} a new name is not a new task; "
        "a new task also has classes of its own"
    )


def base_is_other_task(task: str, base_ref: str, candidate: Any, base_eval: Any) -> bool:
    """Whether `base_ref`'s committed metrics (`base_eval`) are of another task than this model's
    (`task`, its params.yaml data.task; `candidate`, its metrics), as `find` decides for main: the
    base's params.yaml names another task and the classes differ, or the two share no class. The
    report then leaves out the comparison with the base, as the gate does."""
    metrics = base_eval if isinstance(base_eval, dict) else {}
    base = Champion("main", metrics, f"{base_ref}:{EVAL_METRICS_FILE}", task=committed_task(base_ref))
    if declared_task_change(task, base, candidate)[0]:
        return True
    return is_new_task(candidate, base_eval) and relabelled(task, candidate, base) is None


def _candidate_metrics(path: Path = EVAL_METRICS_FILE) -> dict[str, Any] | None:
    """This workspace's metrics, for their classes only (the gate reads and checks them itself):
    None when there are none yet or they are no JSON object. A file that is not a regular one is
    refused naming it, as the gate refuses it: a pipe would block the command, a device (a link to
    /dev/zero) would be read without end."""
    try:
        data = atomic.read_regular(path, atomic.MAX_JSON_BYTES)
    except FileNotFoundError:
        return None
    except OSError as problem:
        raise ChampionError(
            f"{path}: cannot be read ({problem.strerror}); run the pipeline (dvc repro) so the evaluate "
            "stage writes it"
        ) from None
    try:
        payload = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def find(
    aws: AwsParams,
    base_ref: str,
    source: Source = "auto",
    candidate: dict[str, Any] | None = None,
    task: str | None = None,
) -> Lookup:
    """The champion for the gate and the report (see the module docstring for the rules).

    `task`: this model's params.yaml data.task; a champion of another task is no champion.
    `candidate`: the metrics being judged (default: this workspace's metrics/eval.json), whose
    classes decide whether the champion is the same task when the tasks are not known."""
    lookup = _find(aws, base_ref, source)
    if lookup.champion is None:
        return lookup
    candidate = _candidate_metrics() if candidate is None else candidate
    new_task, renamed = declared_task_change(task, lookup.champion, candidate)
    if new_task:
        return Lookup(None, renamed, NEW_TASK)
    new_task, sentence = task_change(candidate, lookup.champion)
    renamed_classes = relabelled(task, candidate, lookup.champion) if new_task else None
    if renamed_classes is not None:
        new_task, sentence = False, renamed_classes
    if new_task:
        return Lookup(None, sentence, NEW_TASK)
    note = "; ".join(part for part in (renamed, lookup.note, sentence) if part)
    return Lookup(lookup.champion, note, RENAMED if renamed else COMPARED)


def _find(aws: AwsParams, base_ref: str, source: Source) -> Lookup:
    if source not in SOURCES:
        raise ChampionError(f"unknown champion source {source!r}: expected one of {', '.join(SOURCES)}")
    if source == "auto":
        source = "bucket" if have_aws_credentials() else "main"
        reason = "no AWS credentials, so production was not read"
    else:
        reason = "production not read (--champion main)"
    if source == "bucket":
        production = read_production(aws)
        if production is not None:
            return Lookup(production, f"compared with {production.describe()}")
        reason = f"no release recorded yet at {production_url(aws.artifacts_bucket)}"
    base = released_base(base_ref)
    said = f"{base.note}; " if base.note else ""
    committed = committed_json(base.ref, EVAL_METRICS_FILE)
    if committed is None:
        return Lookup(
            None,
            f"{said}no champion: {reason}, and {base.ref} has no committed {EVAL_METRICS_FILE}; "
            "the first model is judged on thresholds alone",
            NO_CHAMPION,
        )
    champion = Champion(
        origin="main",
        metrics=committed,
        location=f"{base.ref}:{EVAL_METRICS_FILE}",
        task=committed_task(base.ref),
    )
    return Lookup(champion, f"{said}{reason}: compared with {champion.describe()}")


# ---------------------------------------------------------------------------------------------
# Recording (release)


def counts(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


# The evaluate stage rounds every figure to 4 decimals (textclf.pipeline.evaluate.score); a figure
# further than half a unit of the last decimal from what its confusion matrix gives was edited.
ROUNDING = 0.5e-4 + 1e-9
REWRITE = "the evaluate stage writes it from the test rows: run `dvc repro` instead of editing the file"


def check_eval(payload: dict[str, Any], where: str, error: type[Exception]) -> None:
    """metrics/eval.json in the shape the evaluate stage writes, else `error` naming the key (the
    report, the gate and champion record require it)."""
    per_class = payload.get("per_class")
    if per_class is not None:
        if not isinstance(per_class, dict):
            raise error(f"{where}: per_class must be an object of classes, not {type(per_class).__name__}")
        for label, scores in per_class.items():
            if not isinstance(scores, dict):
                raise error(f"{where}: per_class.{label} must be an object of scores")
            for key in ("precision", "recall", "f1"):
                if not number_or_none(scores.get(key)):
                    raise error(f"{where}: per_class.{label}.{key} must be a number")
            if scores.get("support") is not None and not counts(scores["support"]):
                raise error(f"{where}: per_class.{label}.support must be a whole number >= 0")
    for key in ("graph", "graphs", "serving", "truncation"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise error(f"{where}: {key} must be an object, not {type(payload[key]).__name__}")
    _check_graphs(payload, where, error)
    truncation = payload.get("truncation") or {}
    for key in ("rows", "truncated_rows"):
        if truncation.get(key) is not None and not counts(truncation[key]):
            raise error(f"{where}: truncation.{key} must be a whole number >= 0")
    if "test_rows" in payload and not (counts(payload["test_rows"]) and payload["test_rows"] > 0):
        raise error(f"{where}: test_rows must be the number of test rows scored (a whole number > 0)")
    served = payload.get("graph") or {}
    if served.get("quantize") == "int8" and not isinstance(payload.get("serving"), dict):
        # Without the folder's choice the gate cannot tell whether int8 was chosen within a tolerance.
        raise error(f"{where}: graph says int8 is served, but serving (why) is missing")
    matrix = payload.get("confusion_matrix")
    if matrix is not None:
        labels = matrix.get("labels") if isinstance(matrix, dict) else None
        rows = matrix.get("rows_actual_columns_predicted") if isinstance(matrix, dict) else None
        if (
            not isinstance(labels, list)
            or not isinstance(rows, list)
            or not all(isinstance(row, list) and all(map(counts, row)) for row in rows)
        ):
            raise error(
                f"{where}: confusion_matrix needs labels and rows_actual_columns_predicted (rows of counts)"
            )
        missing = [
            str(label) for label in labels if isinstance(per_class, dict) and str(label) not in per_class
        ]
        if missing:
            # A class left out of per_class is left out of min_class_recall too.
            raise error(
                f"{where}: per_class lacks {missing[:5]}, classes of confusion_matrix.labels; {REWRITE}"
            )
    _counts_agree(payload, where, error)


def _check_graphs(payload: dict[str, Any], where: str, error: type[Exception]) -> None:
    """`graph` (the graph judged: the one the endpoint serves) and `graphs` (each graph's test
    figures) as the evaluate stage writes them, when given (metrics of older commits have neither, or
    `graph` alone): graph.quantize names graph.file; every entry of `graphs` is a graph the model
    folder has; exactly one is served, and it is `graph` (same file, same SHA-256). A file where they
    disagree was edited, and the gate would judge another graph's figures than the served one's, or
    take fp32's from a graph that is not fp32. (The served entry's figures: _require_served_graph.)"""
    graph, graphs = payload.get("graph"), payload.get("graphs") or {}
    if graph is not None and "quantize" in graph:
        quantize, file = graph["quantize"], graph.get("file")
        # An object or a list (valid JSON, no graph's name) is named, never looked up (unhashable).
        if not isinstance(quantize, str) or quantize not in GRAPH_FILES or file != GRAPH_FILES[quantize]:
            raise error(
                f"{where}: graph.quantize {_brief(quantize)} does not go with graph.file {_brief(file)} "
                f"(quantize none serves {GRAPH_FILES['none']}, int8 {GRAPH_FILES['int8']}); {RERUN_EVALUATE}"
            )
    if not graphs:
        return
    if graph is None:
        raise error(f"{where}: graphs is given but graph (the served graph) is missing; {RERUN_EVALUATE}")
    for name, entry in graphs.items():
        if not isinstance(entry, dict):
            raise error(f"{where}: graphs.{name} must be an object of the graph's test figures")
        if name not in GRAPH_FILES:
            raise error(
                f"{where}: graphs.{name} is not a graph of the model folder (none or int8); {RERUN_EVALUATE}"
            )
        for key, expected in (("quantize", name), ("file", GRAPH_FILES[name])):
            if key in entry and entry[key] != expected:
                shown = _brief(entry[key])
                raise error(f"{where}: graphs.{name}.{key} is {shown}, not {expected!r}; {RERUN_EVALUATE}")
        if not isinstance(entry.get("served"), bool):
            raise error(f"{where}: graphs.{name}.served must be true or false; {RERUN_EVALUATE}")
    served = [name for name, entry in graphs.items() if entry["served"]]
    if len(served) != 1:
        said = " and ".join(f"graphs.{name}" for name in served) or "none of graphs"
        raise error(
            f"{where}: {said} {'say' if len(served) > 1 else 'says'} served: true; the endpoint serves "
            f"exactly one graph, graph.quantize {_brief(graph.get('quantize'))}; {RERUN_EVALUATE}"
        )
    name = served[0]
    if graph.get("quantize") != name:
        raise error(
            f"{where}: graphs.{name} says served, but graph.quantize is {_brief(graph.get('quantize'))}; "
            f"{RERUN_EVALUATE}"
        )
    if graphs[name].get("sha256") != graph.get("sha256"):
        raise error(
            f"{where}: graphs.{name}.sha256 is not graph.sha256, the served graph's: the figures would "
            f"be of another graph than the one judged; {RERUN_EVALUATE}"
        )


def _counts_agree(payload: dict[str, Any], where: str, error: type[Exception]) -> None:
    """test_rows, the classes' supports and the confusion matrix count the same test rows (the
    evaluate stage writes all three from one list); a file where they disagree was edited."""
    totals: dict[str, int] = {}
    if "test_rows" in payload:
        totals["test_rows"] = payload["test_rows"]
    per_class = payload.get("per_class")
    if isinstance(per_class, dict) and per_class:
        supports = [scores.get("support") for scores in per_class.values()]
        if all(counts(support) for support in supports):
            totals["the sum of per_class supports"] = sum(supports)
    matrix = payload.get("confusion_matrix")
    if isinstance(matrix, dict) and isinstance(matrix.get("rows_actual_columns_predicted"), list):
        totals["the confusion_matrix's total"] = sum(map(sum, matrix["rows_actual_columns_predicted"]))
    if len(set(totals.values())) > 1:
        first, *rest = (
            f"{name} ({total if total < 10**12 else 'a number of 13 or more digits'})"
            for name, total in totals.items()
        )
        raise error(
            f"{where}: {first} disagrees with {', '.join(rest)}: the evaluate stage writes them from "
            "the same test rows; run `dvc repro evaluate` instead of editing the file"
        )


def _brief(value: Any, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**12 else "a huge integer"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown_labels(labels: Any, limit: int = 8) -> str:
    listed = [str(label) for label in labels]
    return repr(listed[:limit])[:-1] + (f", and {len(listed) - limit} more]" if len(listed) > limit else "]")


def check_consistent(
    payload: dict[str, Any], where: str, labels: list[str], source: str, error: type[Exception]
) -> None:
    """metrics/eval.json as the evaluate stage writes it for this data, else `error` naming the key:
    per_class and confusion_matrix.labels are the data's classes (`labels`, from `source`), the
    matrix is square with a row per class, and every figure (accuracy, macro_f1, each class's
    precision, recall, f1 and support, test_rows) is what the matrix gives, within the rounding to
    4 decimals; and it names the served graph, whose entry in `graphs` has those figures
    (_require_served_graph). A file that leaves out a class, or whose figures contradict its own
    matrix or its served graph's, was not written by the evaluate stage for this data, and the gate
    must not judge it."""
    check_eval(payload, where, error)
    expected = set(labels)
    per_class, matrix = payload.get("per_class"), payload.get("confusion_matrix")
    for key, value in (("per_class", per_class), ("confusion_matrix", matrix), ("test_rows", None)):
        if key not in payload or (key != "test_rows" and not value):
            raise error(f"{where}: {key} is missing; {REWRITE}")
    assert isinstance(per_class, dict) and isinstance(matrix, dict)  # check_eval's shape
    for key, found in (("per_class", list(per_class)), ("confusion_matrix.labels", matrix["labels"])):
        names = [str(label) for label in found]
        if set(names) != expected or len(names) != len(expected):
            missing, extra = expected - set(names), set(names) - expected
            problems = [f"lacks {_shown_labels(sorted(missing))}"] if missing else []
            problems += [f"has {_shown_labels(sorted(extra))}, not classes of the data"] if extra else []
            problems += [] if problems else ["names a class twice"]
            raise error(
                f"{where}: {key} {' and '.join(problems)}; the data's classes ({source}) are "
                f"{_shown_labels(labels)}: {REWRITE}"
            )
    order = [str(label) for label in matrix["labels"]]
    rows = matrix["rows_actual_columns_predicted"]
    if len(rows) != len(order) or any(len(row) != len(order) for row in rows):
        raise error(
            f"{where}: confusion_matrix.rows_actual_columns_predicted must be {len(order)} rows of "
            f"{len(order)} counts, one per class of confusion_matrix.labels; {REWRITE}"
        )
    total = sum(map(sum, rows))  # test_rows, as check_eval found (> 0)
    exact: dict[str, dict[str, float]] = {}
    for i, label in enumerate(order):
        hits, actual, predicted = rows[i][i], sum(rows[i]), sum(row[i] for row in rows)
        exact[label] = {
            "precision": hits / predicted if predicted else 0.0,
            "recall": hits / actual if actual else 0.0,
            "f1": 2 * hits / (actual + predicted) if actual + predicted else 0.0,
        }
        if per_class[label].get("support") != actual:
            raise error(
                f"{where}: per_class.{label}.support {per_class[label].get('support')!r} is not the "
                f"{actual} rows of its confusion_matrix row; {REWRITE}"
            )
    trace = sum(rows[i][i] for i in range(len(order)))
    matrix_says = "the confusion_matrix"
    _agrees(
        payload.get("accuracy"),
        trace / total,
        "accuracy",
        f"{matrix_says} (its diagonal over its total)",
        where,
        error,
    )
    mean_f1 = sum(figures["f1"] for figures in exact.values()) / len(exact)
    _agrees(
        payload.get("macro_f1"),
        mean_f1,
        "macro_f1",
        f"the mean f1 of the classes in {matrix_says}",
        where,
        error,
    )
    for label, figures in exact.items():
        for key, value in figures.items():
            source = f"its {matrix_says} row and column"
            _agrees(per_class[label].get(key), value, f"per_class.{label}.{key}", source, where, error)
    _require_served_graph(payload, where, error)


def _require_served_graph(payload: dict[str, Any], where: str, error: type[Exception]) -> None:
    """The graph judged, as the evaluate stage writes it today: `graph` (file, quantize, SHA-256)
    and `graphs` with the served one (check_eval checks that they agree). Without them the gate
    could not tell which graph its figures are of, nor judge int8 against fp32."""
    graph = payload.get("graph")
    if not isinstance(graph, dict):
        raise error(f"{where}: graph (the served graph: file, quantize, sha256) is missing; {RERUN_EVALUATE}")
    for key in ("file", "quantize", "sha256"):
        if not isinstance(graph.get(key), str):
            raise error(f"{where}: graph.{key} is missing or not a text; {RERUN_EVALUATE}")
    if not re.fullmatch(r"[0-9a-f]{64}", graph["sha256"]):
        raise error(f"{where}: graph.sha256 is not a SHA-256 (64 hex digits); {RERUN_EVALUATE}")
    graphs = payload.get("graphs")
    if not graphs:
        raise error(f"{where}: graphs (each graph's test figures) is missing; {RERUN_EVALUATE}")
    name = graph["quantize"]  # check_eval: graphs.<name> is the one entry served
    for key in ("accuracy", "macro_f1"):
        if graphs[name].get(key) != payload.get(key):
            raise error(
                f"{where}: graphs.{name}.{key} {_brief(graphs[name].get(key))} is not the served graph's "
                f"{key} {_brief(payload.get(key))} (graphs.{name} is the graph served); {RERUN_EVALUATE}"
            )


def _agrees(value: Any, exact: float, key: str, source: str, where: str, error: type[Exception]) -> None:
    if not is_score(value) or abs(value - exact) > ROUNDING:
        shown = "missing" if value is None else _brief(value)
        raise error(f"{where}: {key} is {shown} but {source} gives {exact:.4f}; {REWRITE}")


def build_record(
    metrics: dict[str, Any],
    model_version: str,
    main_metric: str,
    now: datetime,
    task: str | None = None,
    where: str = str(EVAL_METRICS_FILE),
) -> dict[str, Any]:
    """The production record of `metrics` (read from `where`, the file each refusal names)."""
    if not FULL_COMMIT.fullmatch(model_version):
        raise ChampionError(
            f"model version {_brief(model_version)} is not a full git commit (40 lowercase hex digits, "
            "as `git rev-parse <commit>` prints it): pass the commit whose published model was released"
        )
    for key in ("accuracy", "macro_f1", main_metric):
        if not is_score(metrics.get(key)):
            raise ChampionError(
                f"{where}: `{key}` is missing or not a number from 0 to 1; "
                "record the metrics the evaluate stage wrote for the released model"
            )
    # The shape the report and the gate require of every later comparison with it.
    check_eval(metrics, where, ChampionError)
    for label, scores in (metrics.get("per_class") or {}).items():
        for key in ("precision", "recall", "f1"):
            if scores.get(key) is not None and not is_score(scores[key]):
                raise ChampionError(
                    f"{where}: per_class.{label}.{key} is not a number from 0 to 1; "
                    "record the metrics the evaluate stage wrote for the released model"
                )
    if task is not None and task_name_problem(task) is not None:
        raise ChampionError(f"task {_brief(task)}: {task_name_problem(task)} (params.yaml data.task)")
    return {
        "model_version": model_version,
        "recorded_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "main_metric": main_metric,
        **({"task": task} if task is not None else {}),
        "metrics": metrics,
    }


def check_published(s3: Any, aws: AwsParams, commit: str) -> None:
    """The commit has a published model: its manifest is in the models bucket, else ChampionError.
    (The release records the champion after promoting that model; by hand, only such a commit.)"""
    from botocore.exceptions import BotoCoreError, ClientError

    key = PUBLISHED_MANIFEST.format(commit=commit)
    where = f"s3://{aws.published_models}/{key}"
    try:
        s3.head_object(Bucket=aws.published_models, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            raise ChampionError(
                f"no published model for commit {commit}: {where} does not exist; record the commit "
                "the release promoted (make production-commit prints production's), whose PR run published it"
            ) from None
        raise ChampionError(f"cannot read {where}: {error}") from None
    except BotoCoreError as error:
        raise ChampionError(f"cannot read {where}: {error}") from None


def check_in_repository(commit: str) -> None:
    """In a git checkout with its full history, the commit must be one of the repository's
    (`git cat-file -e <commit>^{commit}`); a shallow clone (CI) cannot tell, and is not asked."""
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], capture_output=True, text=True)
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        return  # not a git checkout, or a shallow one
    found = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    if found.returncode != 0:
        raise ChampionError(
            f"model version {commit} is not a commit of this repository: pass the commit whose "
            "published model was released (git fetch first if it is on another branch)"
        )


def record(
    aws: AwsParams,
    metrics_file: Path,
    model_version: str,
    main_metric: str,
    now: datetime | None = None,
    in_repository: bool = False,
    task: str | None = None,
) -> dict[str, Any]:
    """Write the released model's metrics as production's; one PUT, so readers never see half.
    `model_version`: a full commit with a published model; `in_repository` (by hand, `textclf
    champion record`): also one of this checkout's commits (check_in_repository). `task`: the
    model's params.yaml data.task, recorded so that a model of another task is not compared with it."""
    from botocore.exceptions import BotoCoreError, ClientError

    metrics = atomic.read_json_object(
        metrics_file, ChampionError, "run the evaluate stage (dvc repro) first", " of metrics"
    )
    payload = build_record(
        metrics, model_version, main_metric, now or datetime.now(UTC), task, where=str(metrics_file)
    )
    if in_repository:
        check_in_repository(model_version)
    url = production_url(aws.artifacts_bucket)
    s3 = _s3(aws)
    check_published(s3, aws, model_version)
    try:
        s3.put_object(
            Bucket=aws.artifacts_bucket,
            Key=PRODUCTION_KEY,
            Body=(json.dumps(payload, indent=2) + "\n").encode("utf-8"),
            ContentType="application/json",
        )
    except (BotoCoreError, ClientError) as error:
        raise ChampionError(f"cannot write {url}: {error}") from None
    return payload
