"""Labels and incoming keys that GitHub's runner would read as workflow commands when a CI job logs
them (issue 27 round 10, R-e): `##[` anywhere in a log line is one (actions/runner ActionCommand's
legacy prefix: `##[error ...]` annotates the run, `##[add-mask]` masks later lines). Refused, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from textclf.config import DataParams
from textclf.pipeline import prepare
from textclf.release import retrain
from textclf.text import character_name, hidden_label_character


@pytest.mark.parametrize(
    "label", ["##[add-mask]billing", "x ##[error title=Security]rotate", "a##[stop-commands]"]
)
def test_a_label_holding_a_workflow_command_is_refused_naming_the_character(tmp_path, monkeypatch, label):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    rows = "".join(f"note {i},{name}\n" for i in range(10) for name in ("returns", label))
    (tmp_path / "data/raw/a.csv").write_text("text,label\n" + rows, encoding="utf-8")

    assert hidden_label_character(label) == "#"
    with pytest.raises(prepare.DataError, match=r"holds U\+0023 \(NUMBER SIGN\) in the label"):
        prepare.data_files(Path("data/raw")) and prepare.classes_kept(
            Path("data/raw"), DataParams(labels=None)
        )


@pytest.mark.parametrize("label", ["#1", "c#", "[bracket]", "## heading"])
def test_other_labels_with_a_hash_stay_allowed(label):
    assert hidden_label_character(label) is None


@pytest.mark.parametrize(
    "key", ["incoming/##[error title=Security notice]leaked.csv", "incoming/x/##[add-mask]billing.csv"]
)
def test_an_incoming_key_holding_a_workflow_command_is_refused(key):
    with pytest.raises(retrain.RetrainError, match=r"workflow command"):
        retrain.relative_path(key)


@pytest.mark.parametrize(
    ("label", "named"),
    [
        ("billing\u3164", "U+3164 (HANGUL FILLER)"),
        ("billing\u115f", "U+115F (HANGUL CHOSEONG FILLER)"),
        ("billing\uffa0", "U+FFA0 (HALFWIDTH HANGUL FILLER)"),
        ("billing\u2800", "U+2800 (BRAILLE PATTERN BLANK)"),
        ("ham\u034f", "U+034F (COMBINING GRAPHEME JOINER)"),
        ("ham\ufe0f", "U+FE0F (VARIATION SELECTOR-16)"),
        ("\u3164", "U+3164 (HANGUL FILLER)"),
    ],
)
def test_a_label_with_a_character_that_shows_as_nothing_is_refused(label, named):
    """U-r10-1 (its first half): a filler, a joiner or a variation selector made a second class that
    reads as the first, or a class whose name shows as nothing."""
    bad = hidden_label_character(label)
    assert bad is not None and character_name(bad) == named
    with pytest.raises(ValueError, match=r"U\+"):
        DataParams(labels=["returns", label])
