"""Keys and labels of params.yaml that loaded but could never be what they seemed (issue 27, round 7
U-1, U-2, U-3): a price under a key that is no instance type, two keys of one memory size merged
silently, and data.labels holding what the prepare stage refuses in the data's labels."""

from __future__ import annotations

import pytest
import yaml

from tests.code.test_params_folder_names import TEMPLATE
from textclf.config import ParamsError, load_params


def write_params(tmp_path, edit) -> str:
    raw = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return str(path)


# --- U-1: a price's key is an instance type ------------------------------------------------------


@pytest.mark.parametrize("section", ["sagemaker", "batch"])
@pytest.mark.parametrize("key", ["ml.g4dn.xlarge ", "../../x", "ML.M5.XLARGE", "ml.m5", "", "m5.xlarge"])
def test_a_price_under_a_key_that_is_no_instance_type_is_refused(tmp_path, section, key):
    path = write_params(tmp_path, lambda raw: raw[section]["prices_usd_per_hour"].update({key: 0.5}))

    with pytest.raises(ParamsError) as refused:
        load_params(path)

    message = str(refused.value)
    assert f"{section}.prices_usd_per_hour" in message
    assert "a price's key must be a SageMaker instance type, written as instance_type is" in message
    assert f"(got {key!r})" in message


# --- U-2: one memory size, one price -------------------------------------------------------------


@pytest.mark.parametrize("twin", ["'1024'", "'1024.0'", "' 1024'"])
def test_two_keys_of_one_memory_size_are_refused_not_merged(tmp_path, twin):
    text = TEMPLATE.read_text(encoding="utf-8")
    table = "  serverless_usd_per_second:\n"
    assert table in text
    path = tmp_path / "params.yaml"
    # The strict YAML loader sees two keys (a text and a number); once read as numbers they are one.
    path.write_text(text.replace(table, f"{table}    {twin}: 0.00003\n", 1), encoding="utf-8")

    with pytest.raises(ParamsError) as refused:
        load_params(path)

    message = str(refused.value)
    assert f"costs.serverless_usd_per_second: keys {twin} and 1024 are the same memory size" in message


# --- U-3: data.labels refuses what prepare refuses in the data's labels ---------------------------


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("spam\u200b", "U+200B (ZERO WIDTH SPACE)"),
        ("spam\u2061", "U+2061 (FUNCTION APPLICATION)"),
        ("sp\tam", "U+0009 (a control character)"),
        ("sp\u00adam", "U+00AD (SOFT HYPHEN)"),
        # It ended the chart's <script> in the dvc plots page and ran the rest (round 9, R-d).
        ("</script><img src=x onerror=alert(1)><script>", "U+003C (LESS-THAN SIGN)"),
        ("a</SCRIPT >", "U+003C (LESS-THAN SIGN)"),
        ("<!--x", "U+003C (LESS-THAN SIGN)"),
        # Spreadsheet formulas in plots/confusion.csv's cells (round 9, U-f2).
        ('=HYPERLINK("http://evil.example","open")', "U+003D (EQUALS SIGN)"),
        ("@SUM(1+1)", "U+0040 (COMMERCIAL AT)"),
        ("-HYPERLINK(1)", "U+002D (HYPHEN-MINUS)"),
        ("+cmd|' /C calc'!A0", "U+002B (PLUS SIGN)"),
        # Look-alikes across scripts made two classes that read the same (round 9, U-d6c).
        ("b\u0456lling", "U+0456 (CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I)"),
        ("\u0392eta", "U+0392 (GREEK CAPITAL LETTER BETA)"),
    ],
)
def test_a_label_with_an_invisible_or_control_character_is_refused(tmp_path, label, shown):
    path = write_params(tmp_path, lambda raw: raw["data"].update(labels=["ham", label]))

    with pytest.raises(ParamsError) as refused:
        load_params(path)

    message = str(refused.value)
    assert f"data.labels: label 2 ({label[:40]!r}) holds {shown}" in message
    assert "remove the character" in message


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_a_label_holding_a_line_separator_is_refused_as_a_hidden_line_break(tmp_path, separator):
    # The file's own check names it first (round 10, F-r): YAML breaks the line there, git does not.
    path = write_params(tmp_path, lambda raw: raw["data"].update(labels=["ham", f"sp{separator}am"]))

    with pytest.raises(
        ParamsError,
        match=rf"do not show \(U\+{ord(separator):04X}\), which hides a line inside another; delete it",
    ):
        load_params(path)


def test_a_label_written_twice_in_two_unicode_forms_is_refused(tmp_path):
    composed, decomposed = "caf\u00e9", "cafe\u0301"  # é as one character; e + combining acute
    path = write_params(tmp_path, lambda raw: raw["data"].update(labels=[composed, "tea", decomposed]))

    with pytest.raises(ParamsError) as refused:
        load_params(path)

    message = str(refused.value)
    assert f"data.labels: labels {composed!r} and {decomposed!r} are the same text" in message
    assert "write the label one way" in message
    # Labels that differ only in case stay allowed: prepare's and use-data's own advice for two
    # classes that really differ only in case is to list each in data.labels.
    path = write_params(tmp_path, lambda raw: raw["data"].update(labels=["Spam", "spam", composed]))
    assert load_params(path).data.labels == ["Spam", "spam", composed]


@pytest.mark.parametrize(
    "label",
    ["<=50K", ">50K", "R&D", "a < b", "-1", "+1", "-0.5", "+ve", "-ve", "a=b", "\u0441\u043f\u0430\u043c",
     "\u03b1\u03b2 2", "caf\u00e9", "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c", "x\u6f22"],
)  # fmt: skip
def test_a_label_with_a_lone_angle_bracket_or_ampersand_loads(tmp_path, label):
    """Only markup that ends or opens a script element is refused: income classes such as <=50K stay."""
    path = write_params(tmp_path, lambda raw: raw["data"].update(labels=["ham", label]))

    assert load_params(path).data.labels == ["ham", label]
