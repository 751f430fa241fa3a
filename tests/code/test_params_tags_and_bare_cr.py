"""params.yaml is read as it is written (issue 27, round 11):

- F-u: `!!null` turned any written value into null, and round 10 let it through as a tag "whose
  value reads as written": `max_label_issue_share: !!null 0.05` switched the data rule off while the
  line reads 0.05, `labels: !!null a, b` dropped the whitelist. The file now takes no tag at all (the
  template writes none; deploy/production.yaml refuses every tag too).
- T-a / U-r11-4: `accuracy: !!bool 0.85` ended in PyYAML's KeyError traceback, `!!map 0.85` in "a number
  too long to read (not enough values to unpack ...)".
- F-v: a carriage return not followed by a line feed is a line break YAML reads and git and GitHub
  do not: `accuracy: 0.05<CR>    # accuracy threshold 0.85 as before` set 0.05.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.config import ParamsError, load_params, parse_params, read_params_bytes

ACCURACY = "evaluate:\n  thresholds:\n    accuracy: "
TAG_REFUSED = (
    "changes what the value means without showing it: params.yaml takes no tags; write the value plainly"
)


def refused(text: str) -> str:
    with pytest.raises(ParamsError) as error:
        read_params_bytes(text.encode(), "params.yaml")
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


@pytest.mark.parametrize(
    ("text", "where", "tag"),
    [
        ("review:\n  data_gate:\n    max_label_issue_share: !!null 0.05\n",
         "line 3: review.data_gate.max_label_issue_share", "!!null"),
        ("review:\n  data_gate:\n    max_leaked_test_rows: !!null 0\n",
         "line 3: review.data_gate.max_leaked_test_rows", "!!null"),
        ("data:\n  labels: !!null account, billing, cancellation\n", "line 2: data.labels", "!!null"),
        ("sagemaker:\n  kms_key_id: !!null arn:aws:kms:us-east-1:123456789012:key/x\n",
         "line 2: sagemaker.kms_key_id", "!!null"),
        ("review:\n  data_gate:\n    max_class_prior_psi: !<tag:yaml.org,2002:null> 0.25\n",
         "line 3: review.data_gate.max_class_prior_psi", "!!null"),
        ("%TAG !e! tag:yaml.org,2002:\n---\ntrain: {seed: !e!null 1}\n", "line 3: train.seed", "!!null"),
        (ACCURACY + "!!bool 0.85\n", "line 3: evaluate.thresholds.accuracy", "!!bool"),
        (ACCURACY + "!!map 0.85\n", "line 3: evaluate.thresholds.accuracy", "!!map"),
        (ACCURACY + "!!str 0.85\n", "line 3: evaluate.thresholds.accuracy", "!!str"),
        (ACCURACY + "!!float 0.85\n", "line 3: evaluate.thresholds.accuracy", "!!float"),
        (ACCURACY + "! 0.85\n", "line 3: evaluate.thresholds.accuracy", "!"),
        ("data:\n  labels: [a, !!str b]\n", "line 2: data.labels[1]", "!!str"),
        ("--- !!map\ntrain: {seed: 1}\n", "line 1: the document", "!!map"),
        ("!!str train: {seed: 1}\n", "line 1: train", "!!str"),
    ],
)  # fmt: skip
def test_every_tag_is_refused_naming_its_line_and_key(text: str, where: str, tag: str) -> None:
    ending = f"{TAG_REFUSED} (quote it if it is text), as the template does"
    assert refused(text) == f"params.yaml: {where}: a YAML tag ({tag}) {ending}"


def test_a_tag_on_an_anchored_value_is_refused_before_its_alias() -> None:
    assert refused("a: &x !!null 0.05\nb: *x\n").startswith("params.yaml: line 1: a: a YAML tag (!!null)")


def test_a_tag_with_escapes_is_shown_as_text() -> None:
    # A verbatim tag may hold %-escapes PyYAML decodes: a terminal escape is not printed raw.
    message = refused("train: {seed: !<%1B[31m> 1}\n")
    assert "\x1b" not in message and "'\\x1b[31m'" in message, message


def test_the_template_and_quoted_values_still_load(repo_root) -> None:
    assert load_params(repo_root / "params.yaml").data.labels
    loaded = read_params_bytes(b"data:\n  labels: ['yes', \"0.9\", null]\nx: ~\ny:\nz: =\n", "p")
    assert loaded == {"data": {"labels": ["yes", "0.9", None]}, "x": None, "y": None, "z": "="}


def test_a_bare_equals_sign_is_text_the_schema_names() -> None:
    # YAML 1.1 resolves `=` to its "value key" type, which the safe loader could not build: "not
    # valid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:value'" and a
    # three-line excerpt.
    with pytest.raises(ParamsError) as error:
        parse_params(read_params_bytes(b"train:\n  seed: =\n", "params.yaml"))
    assert str(error.value).startswith("params.yaml: train.seed: Input should be a valid integer"), (
        error.value
    )


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("evaluate:\n  thresholds:\n    accuracy: 0.05\r    # accuracy threshold 0.85 as before\n", 3, 19),
        ("evaluate:\n  champion_tolerance: 0.9\r  # tolerance as reviewed, unchanged since 2026-11\n", 2, 26),
        ("evaluate:\n  # reviewed 2026-12\r  champion_tolerance: 0.9\n", 2, 21),
        ("train:\r  seed: 1\r", 1, 7),  # a file saved with old Mac line ends
        ("train:\r\n  seed: 1\r", 2, 10),  # CR LF, then a last line ending in a lone CR
    ],
)
def test_a_carriage_return_without_a_line_feed_is_refused(text: str, line: int, column: int) -> None:
    assert refused(text) == (
        f"params.yaml: line {line}, column {column}: a carriage return (U+000D) without a line feed after "
        "it, a line break YAML reads and git and GitHub do not show, which hides a line inside another: "
        "delete it, or save the file with LF (or CR LF) line ends"
    )


def test_windows_line_ends_still_load(repo_root) -> None:
    text = (repo_root / "params.yaml").read_text(encoding="utf-8").replace("\n", "\r\n")
    assert parse_params(read_params_bytes(text.encode(), "params.yaml")).data.labels


@settings(max_examples=80, deadline=None)
@given(
    tag=st.sampled_from(["!!null", "!!bool", "!!map", "!!seq", "!!set", "!!omap", "!!pairs", "!!int",
                         "!!float", "!!str", "!!binary", "!!timestamp", "!local", "!", "!<tag:x>"]),
    value=st.sampled_from(["0.05", "0", "", "a, b", "~", "null", "true", "abc", "[1]", "{a: 1}", "MC4w"]),
)  # fmt: skip
def test_any_tag_on_any_value_is_one_line_naming_the_key(tag: str, value: str) -> None:
    message = refused(f"{ACCURACY}{tag} {value}\n")
    assert message.startswith("params.yaml: line 3: evaluate.thresholds.accuracy: a YAML tag ("), message


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [("? [a, b]\n: 1\n", 1, "list"), ("train:\n  {? {a: 1}: 2}\n", 2, "mapping")],
)
def test_a_key_that_is_a_list_or_mapping_is_one_line(text: str, line: int, what: str) -> None:
    # Before: PyYAML's "while constructing a mapping ... found unhashable key", eight lines.
    assert refused(text).startswith(f"params.yaml: line {line}: a key that is a {what} ("), refused(text)
