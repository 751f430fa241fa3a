"""SIGTERM and SIGHUP handled like Ctrl-C while a remote job is followed or outputs are written.

A cancelled CI run (or `kill`) sends SIGTERM; a closed terminal or ssh session sends SIGHUP
(`timeout -s HUP` too). The followers of SageMaker training and transform jobs catch
KeyboardInterrupt to stop the remote job, and prepare to remove its spool folder, so inside this
context both signals raise it: left to their default action they would end the process at once,
leaving the remote job running unseen or half-written folders behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator

# SIGHUP does not exist on Windows; there only SIGTERM is taken.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def taken(signums: tuple[int, ...]) -> tuple[int, ...]:
    """The signals of `signums` this process should handle: not those it was started to ignore
    (`nohup` sets SIGHUP to SIG_IGN so a run outlives the ssh session: a closed session must not
    then stop its training job), and not SIGHUP in a CI job (GITHUB_ACTIONS=true): GitHub's runner
    signals only the step's shell, while act runs steps on a terminal whose SIGHUP would have the
    follower stop the job the workflow's own cancel step is there to stop."""
    ci = os.environ.get("GITHUB_ACTIONS") == "true"
    return tuple(
        signum
        for signum in signums
        if signal.getsignal(signum) is not signal.SIG_IGN
        and not (ci and signum == getattr(signal, "SIGHUP", None))
    )


@contextlib.contextmanager
def stop_signals(handler: Callable[[int], None]) -> Iterator[None]:
    """Inside, each stop signal this process takes (SIGTERM, SIGHUP: `taken`) calls handler(signum)
    where the main thread is: an exception it raises unwinds the code there. Outside, as before."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    previous = {
        signum: signal.signal(signum, lambda signum, frame: handler(signum)) for signum in taken(STOP_SIGNALS)
    }
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


def _interrupt(signum: int) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    with stop_signals(_interrupt):
        yield


# 128 + SIGPIPE, as a shell reports a pipe's writer whose reader left.
READER_GONE_EXIT = 141


def reader_gone() -> int:
    """After a BrokenPipeError on standard output (the reader went first: `make repro | head`, a
    pager quit early, a stopped job): point the output at os.devnull so Python's flush at exit does
    not fail again (Python's signal module docs, "Note on SIGPIPE"); the exit code to stop with."""
    import sys

    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return READER_GONE_EXIT


def interrupted_message() -> str:
    """What an interrupted `textclf` command says it leaves. A stage that `dvc repro` runs (DVC names
    it in DVC_STAGE, dvc/stage/run.py) has lost its outputs: DVC removes them before the stage runs.
    Here, with the standard library only, so that the command line says it however early the
    interruption comes (while it still imports its modules: R13A-1)."""
    stage = os.environ.get("DVC_STAGE", "")
    if not stage.isidentifier():
        return "interrupted"
    # dvc.yaml's `cache: false` outputs (metrics, plots) are git's: `dvc checkout` has no copy of them.
    resumes = " (training resumes from its last checkpoint in work/)" if stage == "train" else ""
    return (
        f"interrupted: DVC removed the {stage} stage's outputs before it ran; as last committed, `dvc "
        "checkout` brings back those DVC caches (models/model, data/prepared) and `git checkout -- "
        f"metrics plots` those git tracks; `make repro` runs the stage again{resumes}"
    )
