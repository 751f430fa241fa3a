"""The release reads params.yaml at the commit it promotes as config reads params.yaml: a file the
loader refuses (a key given twice, a character YAML refuses or that hides what is read, bytes that are
not UTF-8, an alias bomb, an overlong number) is refused naming params.yaml at that commit (issue 27:
promote used a plain yaml.safe_load, which kept the last of two keys without a word, and an
overlong number ended in a traceback)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.release.test_provenance import COMMIT, FILES, check, facts
from textclf.release.promote import ReleaseError

PARAMS = FILES["params.yaml"]
WHERE = f"params.yaml at commit {COMMIT}"
# 9**8 values once its aliases are written out, in a few hundred bytes.
BOMB = "x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


def with_params(text: str) -> dict[str, str]:
    return {**FILES, "params.yaml": text}


def line_of(text: str) -> int:
    return next(number for number, line in enumerate(PARAMS.split("\n"), 1) if text in line)


def test_the_committed_params_still_pass():
    assert check(facts())["job_name"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("  epochs: 2\n", "  epochs: 2\n  epochs: 2\n"),
            rf"{WHERE}: line {line_of('epochs:') + 1}: key 'epochs' is given twice \(first on line "
            rf"{line_of('epochs:')}\); keep one",
        ),
        (
            lambda t: t.replace("name: sentence", "name: \u202esentence"),
            rf"{WHERE}: line {line_of('name: sentence')}, column \d+: a bidirectional control character",
        ),
        (
            lambda t: t.replace("  epochs: 2\n", "  epochs: 2\x00\n"),
            rf"{WHERE}: line {line_of('epochs:')}, column \d+: a control character \(U\+0000\)",
        ),
        (
            lambda t: t.replace("# Every knob", "# Every knob \udce9"),  # the byte 0xE9 (git show)
            rf"{WHERE}: line 1: bytes that are not UTF-8 \(b'\\xe9'\); re-save the file as UTF-8",
        ),
        (lambda t: t + BOMB, rf"{WHERE}: .* comes through a YAML alias"),  # refused before expanding
        (
            lambda t: t.replace("  seed: 42\n", "  seed: " + "9" * 5000 + "\n", 1),
            rf"{WHERE}: a number too long to read",
        ),
        (lambda t: t + "train:\n  epochs: 3\n", rf"{WHERE}: line \d+: key 'train' is given twice"),
    ],
    ids=[
        "duplicate key",
        "bidi control",
        "NUL",
        "not UTF-8",
        "alias bomb",
        "overlong number",
        "section twice",
    ],
)
def test_a_params_file_the_loader_refuses_is_refused_naming_the_commit(edit, message):
    with pytest.raises(ReleaseError, match=message):
        check(facts(), with_params(edit(PARAMS)))


# What YAML refuses (control characters but tab, LF, CR, NEL; U+FFFE/FFFF) and the bidirectional
# controls, each anywhere in the file.
HIDDEN = st.one_of(
    st.sampled_from([*map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])]),
    st.sampled_from([*map(chr, range(0x80, 0x85)), *map(chr, range(0x86, 0xA0)), "\ufffe", "\uffff"]),
    st.sampled_from([*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]),
)


@settings(max_examples=60, deadline=None)
@given(character=HIDDEN, at=st.integers(0, len(PARAMS)))
def test_any_hidden_character_anywhere_is_refused_with_its_line_and_column(character, at):
    text = PARAMS[:at] + character + PARAMS[at:]
    line = PARAMS[:at].count("\n") + 1
    column = at - (PARAMS.rfind("\n", 0, at) + 1) + 1
    with pytest.raises(ReleaseError) as refused:
        check(facts(), with_params(text))
    assert str(refused.value).startswith(f"{WHERE}: line {line}, column {column}: "), refused.value
