"""interrupt.sigterm_as_interrupt: SIGTERM and SIGHUP become KeyboardInterrupt inside, as before outside."""

from __future__ import annotations

import os
import signal

import pytest

from textclf.interrupt import STOP_SIGNALS, sigterm_as_interrupt, taken


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signal_raises_keyboard_interrupt_inside(signum, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)  # in a CI job SIGHUP is left alone
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


def test_a_signal_the_process_was_started_to_ignore_stays_ignored():
    """`nohup` sets SIGHUP to SIG_IGN so a run outlives the ssh session: a closed session must not
    stop its training job through the follower (review of round 9's SIGHUP change)."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with sigterm_as_interrupt():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            signal.sigtimedwait([], 0.0)  # no KeyboardInterrupt
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_sighup_is_left_alone_in_a_ci_job(monkeypatch):
    """GitHub's runner never sends SIGHUP; act's terminal would, and the follower would then stop
    the job the workflow's cancel step is there to stop. SIGTERM is still taken."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert taken(STOP_SIGNALS) == (signal.SIGTERM,)
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert taken(STOP_SIGNALS) == (signal.SIGTERM, signal.SIGHUP)
