"""A character params.yaml must not hold (a NUL byte, another control character, a bidirectional
control) is refused with its line and column, never PyYAML's character position in the file (issue
27, U1: "position 9336" told the user nothing they could find in an editor)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textclf.config import ParamsError, load_params


@pytest.fixture
def template(repo_root) -> str:
    return (repo_root / "params.yaml").read_text(encoding="utf-8")


def with_character(folder: Path, template: str, line: int, character: str) -> Path:
    """The template with `character` appended to its line `line` (1-based)."""
    lines = template.split("\n")
    lines[line - 1] += character
    path = folder / "params.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def line_of(template: str, text: str) -> int:
    return next(number for number, line in enumerate(template.split("\n"), 1) if text in line)


@pytest.mark.parametrize(
    ("character", "shown"),
    [
        ("\x00", "U+0000"),  # NUL
        ("\x07", "U+0007"),  # BEL
        ("\x1b", "U+001B"),  # ESC: terminal escape sequences
        ("\x7f", "U+007F"),  # DEL
        ("\x9b", "U+009B"),  # a C1 control (CSI)
        ("\ufffe", "U+FFFE"),  # a noncharacter
    ],
)
def test_a_control_character_names_its_line_and_column(tmp_path, template, character, shown):
    line = line_of(template, "epochs:")
    column = len(template.split("\n")[line - 1]) + 1
    with pytest.raises(ParamsError) as raised:
        load_params(with_character(tmp_path, template, line, character))
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'params.yaml'}: line {line}, column {column}: "), message
    assert shown in message and "delete it" in message, message
    assert "position" not in message and "<unicode string>" not in message, message


@pytest.mark.parametrize("character", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_a_bidirectional_control_character_is_refused_with_its_line(tmp_path, template, character):
    # In a string value (a label, a model name) it would be taken without a word, and it makes the
    # file display in another order than it is read (CVE-2021-42574, "Trojan Source").
    line = line_of(template, "name:")
    with pytest.raises(ParamsError) as raised:
        load_params(with_character(tmp_path, template, line, character))
    message = str(raised.value)
    assert f"params.yaml: line {line}, column " in message, message
    assert f"U+{ord(character):04X}" in message and "bidirectional" in message, message
    assert "delete it" in message, message


def test_the_first_of_several_is_named(tmp_path, template):
    first = line_of(template, "epochs:")
    lines = template.split("\n")
    lines[first - 1] += "\x00"
    lines[first + 2] += "\x01"
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ParamsError, match=rf"params.yaml: line {first}, column \d+: .*U\+0000"):
        load_params(path)


@pytest.mark.parametrize("newline", ["\r\n"])
def test_the_line_is_counted_as_yaml_counts_lines(tmp_path, template, newline):
    # YAML breaks lines at CR LF, CR, LF, NEL, U+2028 and U+2029; a file saved with Windows line
    # ends must not be reported as one long line 1. (A lone CR, NEL, U+2028 and U+2029 are refused
    # themselves: git and GitHub do not break lines there, tests/code/test_hidden_line_breaks.py and
    # tests/code/test_params_tags_and_bare_cr.py.)
    line = line_of(template, "epochs:")
    lines = template.split("\n")
    lines[line - 1] = "\x00" + lines[line - 1]
    path = tmp_path / "params.yaml"
    path.write_bytes(newline.join(lines).encode("utf-8"))
    with pytest.raises(ParamsError, match=rf"params.yaml: line {line}, column 1: .*U\+0000"):
        load_params(path)


def test_a_tab_and_line_breaks_stay_allowed(tmp_path, template):
    # YAML allows tab, LF and CR; a comment with a tab and CRLF line ends must still load.
    text = template.replace("\n", "\r\n").replace("# Every knob", "#\tEvery knob", 1)
    path = tmp_path / "params.yaml"
    path.write_bytes(text.encode("utf-8"))
    assert load_params(path).train.epochs > 0


def test_right_to_left_text_without_controls_stays_allowed(tmp_path, template):
    # Hebrew and Arabic labels need no control character: only the controls are refused.
    text = template.replace("# Every knob", "# Every knob: תווית, تسمية", 1)
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_params(path).train.epochs > 0


def test_a_yaml_syntax_error_names_the_file_not_a_unicode_string(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParamsError) as raised:
        load_params(path)
    message = str(raised.value)
    assert f'in "{path}", line 1, column 8' in message, message
    assert "<unicode string>" not in message, message


FORBIDDEN = st.one_of(
    st.sampled_from([chr(code) for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]),
    st.sampled_from([chr(code) for code in [*range(0x80, 0x85), *range(0x86, 0xA0), 0xFFFE, 0xFFFF]]),
    st.sampled_from([chr(code) for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(character=FORBIDDEN, where=st.floats(0, 1, exclude_max=True))
def test_any_forbidden_character_anywhere_is_named_where_it_is(tmp_path, template, character, where):
    at = int(where * len(template))
    path = tmp_path / "params.yaml"
    path.write_text(template[:at] + character + template[at:], encoding="utf-8")
    line = template.count("\n", 0, at) + 1
    column = at - (template.rfind("\n", 0, at) + 1) + 1
    with pytest.raises(ParamsError) as raised:
        load_params(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: line {line}, column {column}: "), message
    assert f"U+{ord(character):04X}" in message and "delete it" in message, message
