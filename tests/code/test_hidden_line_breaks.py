"""A line break YAML reads and git, its diffs and GitHub do not (NEL, U+2028, U+2029) is refused in
params.yaml and deploy/production.yaml: a line reviewers read as one comment would end there and its
rest be a setting (issue 27, round 10, F-r)."""

from __future__ import annotations

import pytest

from textclf.config import ParamsError, read_params_bytes
from textclf.release.desired import DesiredStateError, parse

BREAKS = ["\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("hidden", BREAKS)
def test_params_refuses_a_hidden_line_break(hidden: str) -> None:
    text = f"evaluate:\n  # tolerance reviewed 2026-12{hidden}  champion_tolerance: 0.9\n"
    with pytest.raises(ParamsError) as error:
        read_params_bytes(text.encode(), "params.yaml")
    assert f"a line break YAML reads and git and GitHub do not show (U+{ord(hidden):04X})" in str(error.value)
    assert str(error.value).startswith("params.yaml: line 2, column ")


@pytest.mark.parametrize("hidden", BREAKS)
def test_the_declared_state_refuses_a_hidden_line_break(hidden: str) -> None:
    text = f"# header\n# previous release, for the record:{hidden}commit: {'b' * 40}\nsha256: {'d' * 64}\n"
    with pytest.raises(DesiredStateError, match=r"line 2: a line break YAML reads and git and GitHub do not"):
        parse(text, "deploy/production.yaml")


def test_plain_files_still_load() -> None:
    assert parse(f"# header\ncommit: {'b' * 40}\nsha256: {'d' * 64}\n").commit == "b" * 40
    assert read_params_bytes("# café, naïve\nevaluate: {champion_tolerance: 0.01}\n".encode(), "p")
