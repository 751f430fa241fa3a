"""Whether metrics/eval.json is what the pipeline would write now: `make gate` and `make summary`
judge it only then (issue 29: a newcomer edited params.yaml after a run, and `make gate` said
"gate: pass" on the metrics of the old params).

DVC answers, as `dvc status` does: the stage that writes metrics/eval.json (evaluate) and every
pipeline stage it depends on (prepare, train) must be unchanged since dvc.lock recorded their run.
DVC's Python API, `Repo.status(targets, with_deps=True)` (dvc/repo/status.py `_local_status`, the
code of `dvc status <stage> --with-deps`), gives per stage a list of `{"changed deps": {path:
status}}` (a params file: `{path: {param: status}}`, dvc/dependency/param.py
`workspace_status`), `{"changed outs": {path: status}}`, "changed checksum" (the stage's command
in dvc.yaml changed: PipelineStage.changed_stage) and "always changed" (dvc/stage/__init__.py
`Stage.status`); an up-to-date stage is left out. The statuses are DVC's (dvc/output.py
`Output.status`): "modified", "deleted", "new", and "not in cache" when an output's recorded
content is missing from the local cache, which DVC says before it looks at the workspace: such
an output is looked at again (`workspace_status`), because an output that is in the workspace as
recorded was written by the recorded run, cache or not. DVC's documentation of the command:
https://dvc.org/doc/command-reference/status ("Comparisons are made between data files in the
workspace and corresponding files in the cache directory").

What counts, each making the metrics stale: a changed dependency (code, data, a params key the
stage lists), a changed or missing output (the model deleted, metrics/eval.json edited by hand), a
changed command, a stage dvc.lock has no entry for, and no dvc.lock at all (nothing ran here). Not
counted: a `.dvc` file's data (data.dvc) that is not in the workspace as pinned. The prepare stage
depends on that folder itself and is changed when its content differs from what prepare read;
pinning new data is `dvc add`'s business, which `make use-data` does.

What is checked is what is present: a folder without dvc.yaml holds no pipeline to be out of date
against (metrics copied out of a run), and a dvc.yaml with no stage writing metrics/eval.json is
not this pipeline: both are judged as they are, and say so. Every workflow that runs the gate runs
it in the pipeline's workspace (pr.yml: `make gate` after `make repro-ci`), which is up to date.

Costs importing DVC, loading the repository and hashing what DVC's state database has not hashed
yet: about 2 s on 2 CPU cores for the project after a run (DVC records the hashes it computed, so
the model is not read again), more the first time a large model is looked at.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from textclf.review.champion import EVAL_METRICS_FILE

PIPELINE_FILE = Path("dvc.yaml")
LOCK_FILE = Path("dvc.lock")
RERUN = "run make repro first"
# A stage's changes named in the message, the rest counted.
MAX_CHANGES = 3


class StaleMetricsError(ValueError):
    """metrics/eval.json is not what the pipeline would write from this workspace now."""


# DVC's messages carry terminal colour codes (its UI's markup) around links and names.
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _plain(error: Exception) -> str:
    return _COLOUR.sub("", str(error))


def _stale(reason: str) -> StaleMetricsError:
    return StaleMetricsError(f"{EVAL_METRICS_FILE} is out of date: {reason}; {RERUN}")


def _changes(stage: Any, entries: list[Any]) -> list[str]:
    """What `dvc status` lists for one stage, in a few words each: `params.yaml: data, model`,
    `models/model deleted`, `its command changed`."""
    outs = {str(out): out for out in stage.outs}
    changes: list[str] = []
    for entry in entries:
        if entry in ("changed command", "changed checksum"):
            # "changed command": a dvc.yaml stage whose cmd differs from dvc.lock's
            # (dvc/stage/__init__.py PipelineStage._status_stage); "changed checksum": a .dvc file's.
            changes.append("its command in dvc.yaml changed")
        elif entry == "always changed":
            changes.append("always changed")
        elif isinstance(entry, str):
            changes.append(entry)  # a status this DVC version names otherwise: a change all the same
        elif isinstance(entry, dict):
            for kind, paths in entry.items():
                for path, status in paths.items():
                    if isinstance(status, dict):  # a params file: the keys that changed
                        changes.append(f"{path}: {', '.join(status)}")
                        continue
                    if kind == "changed outs" and status == "not in cache" and path in outs:
                        # In the workspace as the run wrote it: the cache copy only is missing.
                        status = next(iter(outs[path].workspace_status().values()), None)
                        if status is None:
                            continue
                    changes.append(f"{path} {status}")
    return changes


def _described(changes: list[str]) -> str:
    more = f"; {len(changes) - MAX_CHANGES} more" if len(changes) > MAX_CHANGES else ""
    return f"({'; '.join(changes[:MAX_CHANGES])}{more})"


def check() -> str | None:
    """Raise StaleMetricsError when metrics/eval.json is not what the pipeline would write from this
    workspace now; None when DVC finds its stage and the stages before it up to date, or a note
    saying why nothing was checked (no pipeline in this folder)."""
    if not PIPELINE_FILE.exists() and not PIPELINE_FILE.is_symlink():
        return f"no {PIPELINE_FILE} in this folder: {EVAL_METRICS_FILE} is judged as it is, not checked"
    if not PIPELINE_FILE.is_file():
        raise StaleMetricsError(
            f"{PIPELINE_FILE} is not a regular file: DVC cannot say whether {EVAL_METRICS_FILE} is up to "
            f"date; put the pipeline file back (git checkout -- {PIPELINE_FILE})"
        )
    if not LOCK_FILE.is_file():
        raise _stale(f"there is no {LOCK_FILE}: the pipeline has not run in this workspace")

    from dvc.exceptions import DvcException
    from dvc.repo import Repo, lock_repo

    try:
        with Repo(".") as repo, lock_repo(repo):
            writers = [
                stage
                for stage in repo.index.stages
                if any(str(out) == str(EVAL_METRICS_FILE) for out in stage.outs)
            ]
            if not writers:
                return f"no stage of {PIPELINE_FILE} writes {EVAL_METRICS_FILE}: judged as it is, not checked"
            if len(writers) > 1:
                names = ", ".join(f"'{stage.addressing}'" for stage in writers)
                raise StaleMetricsError(
                    f"{PIPELINE_FILE}: {len(writers)} stages write {EVAL_METRICS_FILE} ({names}): keep one"
                )
            (writer,) = writers
            upstream = {stage.addressing for stage in repo.stage.collect(writer.addressing, with_deps=True)}
            # dvc.yaml's order: prepare, train, evaluate (the index lists the .dvc files first).
            stages = [
                stage
                for stage in repo.index.stages
                if stage.addressing in upstream and not stage.is_data_source
            ]
            # DVC does not look at a frozen stage's dependencies (dvc/stage/__init__.py Stage.status:
            # `if not self.frozen`), so its params or code may have changed unseen.
            frozen = [stage.addressing for stage in stages if stage.frozen]
            if frozen:
                names = ", ".join(f"'{name}'" for name in frozen)
                raise StaleMetricsError(
                    f"{EVAL_METRICS_FILE} cannot be checked: stage {names} is frozen in {PIPELINE_FILE} (dvc "
                    f"freeze), and DVC does not check a frozen stage's dependencies; `dvc unfreeze "
                    f"{frozen[0]}`, then run make repro"
                )
            never_ran = [stage.addressing for stage in stages if not any(out.hash_info for out in stage.outs)]
            if never_ran:
                names = ", ".join(f"'{name}'" for name in never_ran)
                raise _stale(f"{LOCK_FILE} has no entry for stage {names}: it has not run in this workspace")
            status = repo.status(targets=[writer.addressing], with_deps=True)
            changed = []
            for stage in stages:
                changes = _changes(stage, status.get(stage.addressing) or [])
                if changes:
                    changed.append((stage.addressing, _described(changes)))
    except DvcException as error:  # a lock held by a running dvc, an unreadable dvc.yaml or dvc.lock
        raise StaleMetricsError(
            f"{EVAL_METRICS_FILE}: DVC cannot say whether it is up to date ({_plain(error)}); fix that, or "
            "wait for the dvc command running here to end, then run this again"
        ) from None
    except RecursionError:
        raise StaleMetricsError(
            f"{PIPELINE_FILE} or {LOCK_FILE} is nested too deeply to read: put them back "
            f"(git checkout -- {PIPELINE_FILE} {LOCK_FILE}), then run make repro"
        ) from None
    except sqlite3.DatabaseError as error:  # DVC's state or link database (a crash, a full disk)
        raise StaleMetricsError(
            f"{EVAL_METRICS_FILE}: DVC's cache database is damaged ({error}): delete DVC's site cache "
            "folder (`dvc doctor` names it, under 'Cache directory' or /var/tmp/dvc), DVC rebuilds it"
        ) from None
    if not changed:
        return None
    if len(changed) == 1:
        ((name, what),) = changed
        raise _stale(f"dvc status shows stage '{name}' changed {what}")
    raise _stale(
        "dvc status shows stages changed: " + ", ".join(f"'{name}' {what}" for name, what in changed)
    )
