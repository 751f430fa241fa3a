"""A .dvcignore line that is no pattern (issue 27, round 8, T-i): prepare and retrain-import ended in
a re.error / GitWildMatchPatternError traceback. DVC 3 stops on such a line too (`dvc check-ignore`:
"unexpected error - bad character range"), so it is refused, naming the file and line; and a
.dvcignore that hides every data file is named instead of "no files found"."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from textclf.pipeline import prepare
from textclf.release import retrain

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    (root / "data/raw").mkdir(parents=True)
    with (root / "data/raw/messages.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), ("my parcel is late", "delivery")])
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("line", ["[z-a]", "\\", "!"])
@pytest.mark.parametrize("where", ["", "data/raw/"])
def test_a_line_that_is_no_pattern_is_named(project: Path, line: str, where: str) -> None:
    (project / where / ".dvcignore").write_text(f"# notes\n{line}\n", encoding="utf-8")
    expected = f"{where}.dvcignore line 2: {line!r} is not a pattern DVC can use"
    with pytest.raises(prepare.DataError) as refused:
        prepare.data_files(Path("data/raw"))
    assert str(refused.value).startswith(expected), refused.value  # named from the repository root
    with pytest.raises(retrain.RetrainError) as refused:
        retrain.hidden_by_dvcignore(Path("data/raw/incoming/a.csv"))
    assert str(refused.value).startswith(expected) and "nothing was imported" in str(refused.value)


# In the raw folder only a .dvcignore that hides itself (`*`) is one DVC takes (test_nested_dvcignore.py).
@pytest.mark.parametrize(
    ("where", "pattern"),
    [("data/raw/", "*"), ("", "data/raw/messages.csv"), ("", "data/raw/*.csv"), ("data/", "raw/*")],
)
def test_a_dvcignore_hiding_every_data_file_is_named(project: Path, where: str, pattern: str) -> None:
    (project / where / ".dvcignore").write_text(f"{pattern}\n", encoding="utf-8")
    with pytest.raises(prepare.DataError) as refused:
        prepare.data_files(Path("data/raw"))
    message = str(refused.value)
    assert "data/raw/messages.csv" in message and f".dvcignore hides them ({where}.dvcignore)" in message, (
        message
    )
