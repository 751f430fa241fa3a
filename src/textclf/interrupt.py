"""SIGTERM handled like Ctrl-C while a remote job is followed, so the job is stopped.

A cancelled CI run (or `kill`) sends SIGTERM; the followers of SageMaker training and transform jobs
catch KeyboardInterrupt to stop the remote job, so inside this context SIGTERM raises it too.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
