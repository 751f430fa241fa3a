"""use-data refuses labels prepare reads as one, naming the file and rows (R13A-15, R13A-14): it caught
labels differing in case only, so full-width `Ｂｉｌｌｉｎｇ` beside `billing` went into data.labels as a
second class (which silenced prepare's look-alike refusal), and `café` written composed and decomposed
was refused naming use-data's temporary params.yaml (`.use-data.XXXX/params.yaml`), not the rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.code.test_use_data import clone, snapshot, textclf  # noqa: F401 (clone: the fixture)


def unfolded(stderr: str) -> str:
    return " ".join(line.removeprefix("[textclf]").strip() for line in stderr.splitlines())


@pytest.mark.parametrize(
    ("twin", "said"),
    [
        (
            "\uff22\uff49\uff4c\uff4c\uff49\uff4e\uff47",
            "look alike (the same text once case, Unicode's compatibility forms",
        ),
        ("bi\u0301lling", None),
    ],
    ids=["full-width", "decomposed"],
)
def test_labels_prepare_reads_as_one_are_refused_naming_their_rows(clone: Path, twin: str, said) -> None:  # noqa: F811
    first = "b\u00edlling" if said is None else "billing"  # composed, beside its decomposed twin
    rows = [
        f"note {n} of kind {i},{label}" for i, label in enumerate((first, twin, "tea")) for n in range(30)
    ]
    (clone.parent / "mine/look.csv").write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    before = snapshot(clone)

    done = textclf(clone, "use-data", "../mine/look.csv")

    text = unfolded(done.stderr)
    assert done.returncode == 2 and snapshot(clone) == before, text
    assert "../mine/look.csv: labels " in text and "(first at row 1 (line 2); row 31 (line 32))" in text, text
    expected = said or "are the same text written with different Unicode characters"
    assert expected in text and ".use-data." not in text
