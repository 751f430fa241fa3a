"""interrupt.sigterm_as_interrupt: SIGTERM and SIGHUP become KeyboardInterrupt inside, as before outside."""

from __future__ import annotations

import os
import signal

import pytest

from textclf.interrupt import sigterm_as_interrupt


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signal_raises_keyboard_interrupt_inside(signum):
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signum)
        signal.sigtimedwait([], 0.0)  # let the handler run before the context ends


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_previous_handler_restored(signum):
    seen = []
    previous = signal.signal(signum, lambda s, f: seen.append(s))
    try:
        with sigterm_as_interrupt():
            pass
        os.kill(os.getpid(), signum)
        assert seen == [signum]
    finally:
        signal.signal(signum, previous)
