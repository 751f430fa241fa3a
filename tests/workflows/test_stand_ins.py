"""The rehearsal's stand-in actions say what they did and what they could not do offline
(textclf.rehearsal.standins)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("999", "asks for Node.js 999 (node-version); this runner has Node.js v"),
        ("lts/*", "node-version 'lts/*' is not checked offline"),
        ("", "(asked for: any)"),
    ],
)
def test_setup_node_says_what_was_asked_and_what_is_installed(
    asked: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from textclf.rehearsal import standins

    monkeypatch.setenv("INPUT_NODE-VERSION", asked)
    if not standins.shutil.which("node"):
        with pytest.raises(SystemExit):
            standins.setup_node()
        assert "no `node` is on this runner's PATH" in capsys.readouterr().err
        return
    standins.setup_node()
    assert said in capsys.readouterr().out
