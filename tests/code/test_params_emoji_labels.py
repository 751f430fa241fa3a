"""An emoji label as a keyboard types it (❤️: U+2764 and the emoji presentation selector U+FE0F) is a
label, in params.yaml's data.labels and in the data; a variation selector anywhere else (after a
letter, alone, doubled) and the other selectors, joiners and bidirectional controls stay refused,
and `❤` and `❤️` in the data are one label written two ways (issue 27's leftover)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from textclf.config import DataParams, label_character_problem, without_presentation_selectors
from textclf.pipeline import prepare
from textclf.pipeline.prepare import DataError

HEART = "\u2764\ufe0f"  # ❤️ as an emoji keyboard types it


@pytest.mark.parametrize(
    "label",
    [
        HEART,
        "\u2764\ufe0e",  # text presentation
        "\u2600\ufe0f",  # ☀️
        "ok \u2714\ufe0f",  # ✔️ after a word
        "\u2194\ufe0f",  # ↔️, a math symbol (Sm)
        "\U0001f44d",  # 👍 without a selector
        "\U0001f44d\U0001f3fd",  # with a skin tone modifier
        # Bases of emoji-variation-sequences.txt that are not symbols (round 12, R12-10: refused)
        "#\ufe0f\u20e3",  # keycap #️⃣ (Po)
        "*\ufe0f\u20e3",
        "1\ufe0f\u20e3",  # keycap 1️⃣ (Nd)
        "\u203c\ufe0f",  # ‼️ (Po)
        "\u2049\ufe0f",  # ⁉️
        "\u2139\ufe0f",  # ℹ️ (Ll)
        "\u3030\ufe0f",  # 〰️ (Pd)
        "\u303d\ufe0f",  # 〽️ (Po)
    ],
)
def test_an_emoji_with_its_presentation_selector_is_a_label(label):
    assert label_character_problem(label) is None
    assert DataParams(labels=["bad", label]).labels == ["bad", label]


@pytest.mark.parametrize(
    ("label", "named"),
    [
        ("billing\ufe0f", "U+FE0F"),  # after a letter: reads as `billing`
        ("\ufe0f", "U+FE0F"),  # alone: shows as nothing
        ("\u2764\ufe0f\ufe0f", "U+FE0F"),  # a second selector hides
        ("7\ufe0f", "U+FE0F"),  # after a digit
        ("#\ufe0f", "U+FE0F"),  # after a keycap base without the keycap
        ("7\ufe0f ok\u20e3", "U+FE0F"),
        ("\u2764\ufe01", "U+FE01"),  # the other selectors stay refused
        ("\u2764\U000e0100", "U+E0100"),
        ("\u2764\u200d", "U+200D"),  # a joiner
        ("\u2764\u202e", "U+202E"),  # a bidirectional control
    ],
)
def test_a_selector_elsewhere_and_hidden_characters_stay_refused(label, named):
    bad = label_character_problem(label)
    assert bad is not None and f"U+{ord(bad):04X}" == named
    with pytest.raises(ValueError, match=rf"holds {named.replace('+', '[+]')} "):
        DataParams(labels=["bad", label])


def test_only_a_selector_after_a_symbol_is_set_aside():
    assert without_presentation_selectors(f"{HEART} and ham\ufe0f") == "\u2764 and ham\ufe0f"
    assert without_presentation_selectors("plain") == "plain"


def write(folder: Path, labels: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "a.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((f"message {i} number {i * 3}", labels[i % len(labels)]) for i in range(60))


def test_prepare_takes_an_emoji_label_from_the_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "data/raw", [HEART, "\U0001f44e"])

    prepare.run(DataParams(labels=None), log=lambda _line: None)

    assert json.loads(Path("data/prepared/labels.json").read_text(encoding="utf-8")) == {
        "labels": [HEART, "\U0001f44e"]
    }


def test_prepare_refuses_a_selector_after_a_letter_in_the_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "data/raw", ["ham", "ham\ufe0f"])

    with pytest.raises(DataError, match=r"holds U\+FE0F \(VARIATION SELECTOR-16\) in the label"):
        prepare.run(DataParams(labels=None), log=lambda _line: None)


def test_an_emoji_with_and_without_its_selector_is_one_label_written_two_ways(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "data/raw", ["\u2764", HEART, "\U0001f44e"])

    with pytest.raises(DataError, match=r"labels '❤' .* and '❤️' .* look alike"):
        prepare.run(DataParams(labels=None), log=lambda _line: None)
