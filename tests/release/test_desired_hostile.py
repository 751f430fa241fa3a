"""deploy/production.yaml as a careless or hostile pull request may write it (issue 27, round 6):
bytes that are not UTF-8 (T2: a UnicodeDecodeError traceback), a key given twice (U6: the last
value won), a value with a line break at its end (U6: `^...$` accepted it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textclf.release import desired

COMMIT = "a" * 40
DIGEST = "b" * 64


def show(workspace: Path, content: bytes, capsys) -> tuple[int, str]:
    target = workspace / desired.DESIRED_FILE
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(content)
    status = desired.main(["show"])
    return status, capsys.readouterr().err


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bytes_that_are_not_utf8_are_one_line_naming_the_line(workspace: Path, capsys) -> None:
    status, err = show(workspace, f"commit: {COMMIT}\n".encode() + b"sha256: \xff\n", capsys)
    assert status == 1, err
    assert err.startswith("error: deploy/production.yaml: line 2: bytes that are not UTF-8"), err
    assert "Traceback" not in err and "re-save the file as UTF-8" in err, err


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=40))
def test_any_bytes_give_a_state_or_one_named_error(workspace: Path, capsys, content: bytes) -> None:
    status, err = show(workspace, content, capsys)
    assert status in (0, 1), err
    if status:
        assert err.startswith("error: deploy/production.yaml"), err


def test_a_key_given_twice_is_refused_naming_both_lines() -> None:
    text = f"commit: {COMMIT}\nsha256: {DIGEST}\ncommit: {'c' * 40}\n"
    with pytest.raises(desired.DesiredStateError) as refused:
        desired.parse(text)
    message = str(refused.value)
    assert message.startswith("deploy/production.yaml: line 3: key 'commit' is given twice"), message
    assert "first on line 1" in message and "keep one" in message, message


@settings(max_examples=50, deadline=None)
@given(
    field=st.sampled_from(["commit", "sha256"]),
    tail=st.sampled_from(["\n", "\r\n", "\n\n", "\r", "\u2028"]),
)
def test_a_value_with_a_line_break_at_its_end_is_refused(field: str, tail: str) -> None:
    values = {"commit": COMMIT, "sha256": DIGEST}
    values[field] += tail
    text = json.dumps(values)  # JSON is YAML: the values exactly as given
    with pytest.raises(desired.DesiredStateError, match=f"{field} must be"):
        desired.parse(text)


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        # The strict loader lets a merge key through (params.yaml's `<<: *defaults`): here the file
        # would show two `commit:` lines and release the second.
        (f"<<: {{commit: {COMMIT}}}\ncommit: {'c' * 40}\nsha256: {DIGEST}\n", 1, "a merge key"),
        (f"<<: {{commit: {COMMIT}, sha256: {DIGEST}}}\n", 1, "a merge key"),
        (f"commit: &c {COMMIT}\nsha256: {DIGEST}\n", 1, "an anchor (&c)"),
        (f"x: &c {COMMIT}\n---\n", 1, "an anchor"),
        (f"sha256: {DIGEST}\ncommit: !!str {COMMIT}\n", 2, "a tag (tag:yaml.org,2002:str)"),
        (f"commit: {COMMIT}\nsha256: !!binary {DIGEST}\n", 2, "a tag"),
        (f"base: &b {{commit: {COMMIT}, sha256: {DIGEST}}}\n", 1, "an anchor"),
    ],
)
def test_merge_keys_anchors_aliases_and_tags_are_refused_naming_the_line(
    text: str, line: int, what: str
) -> None:
    with pytest.raises(desired.DesiredStateError) as refused:
        desired.parse(text)
    message = str(refused.value)
    assert message.startswith(f"deploy/production.yaml: line {line}: {what}"), message
    assert "two plain values" in message, message


def test_an_alias_is_refused_naming_its_line() -> None:
    text = f"sha256: {DIGEST}\ncommit: *c\n"
    with pytest.raises(desired.DesiredStateError, match=r"line 2: an alias \(\*c\)"):
        desired.parse(text)
