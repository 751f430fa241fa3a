"""use-data names what to fix (issue 29, a newcomer's walk-through): the rows whose labels LABELS=
lacks (the first few, row and line, and how many more), every row whose text is empty (counted, the
first few named) with EMPTY_TEXT=drop offered, and a `;`-separated CSV as such, not as a missing
column; EMPTY_TEXT= (--empty-text) is checked and written to params.yaml as data.empty_text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from textclf.config import DataParams
from textclf.pipeline import own_data
from textclf.pipeline.prepare import DataError

TEAMS = ("cloud", "ml", "web", "devtools")


def rows(per_team: int = 10) -> list[tuple[str, str]]:
    return [(f"docstring {i} of the {team} team", team) for i in range(per_team) for team in TEAMS]


def write(path: Path, records: list[tuple[str, str]], delimiter: str = ",") -> None:
    lines = [f"docstring{delimiter}team", *(f"{text}{delimiter}{team}" for text, team in records)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "data/.use-data.now").mkdir()
    return tmp_path


def plan(
    labels: list[str] | None = None, names: own_data.Names = own_data.MAKE_VARIABLES, **data
) -> own_data.Placement:
    return own_data.plan(
        Path("mine/docs.csv"),
        Path("data/raw"),
        Path("data.dvc"),
        DataParams(labels=None, text_column="docstring", label_column="team", **data),
        labels,
        Path("data/.use-data.now"),
        names=names,
    )


def refused(**kwargs) -> str:
    with pytest.raises(DataError) as error:
        plan(**kwargs)
    return str(error.value)


def test_labels_outside_labels_name_the_first_rows_and_how_many_more(project):
    records = rows()
    for at in (0, 10, 22, 30, 31, 35, 39):  # rows 1, 11, 23, 31, 32, 36, 40
        text, team = records[at]
        records[at] = (text, team.capitalize())
    write(project / "mine/docs.csv", records)

    message = refused(labels=["cloud", "ml", "web", "devtools"])

    assert message == (
        "mine/docs.csv: 7 rows have labels not in LABELS=: 'Cloud', 'Devtools', 'Web' (row 1 "
        "(line 2), row 11 (line 12), row 23 (line 24), row 31 (line 32), row 32 (line 33) and 2 more); "
        "add them to LABELS=, or fix those rows"
    )


def test_a_few_such_rows_are_all_named(project):
    records = rows()
    records[5] = (records[5][0], "Web")
    write(project / "mine/docs.csv", records)

    message = refused(labels=list(TEAMS))

    assert (
        "mine/docs.csv: 1 row has a label not in LABELS=: 'Web' (row 6 (line 7)); add it to LABELS=, "
        "or fix that row"
    ) in message


def test_every_empty_text_is_counted_and_empty_text_drop_offered(project):
    records = rows()
    for at in (4, 17, 26):
        records[at] = ("  ", records[at][1])
    write(project / "mine/docs.csv", records)

    message = refused()

    assert message == (
        "mine/docs.csv: row 5 (line 6): column 'docstring' is empty, and in 2 more rows: row 18 (line 19), "
        "row 27 (line 28); fix those 3 rows, or pass EMPTY_TEXT=drop (or set data.empty_text: drop in "
        "params.yaml) to drop such rows"
    )
    assert "pass --empty-text drop (or set" in refused(names=own_data.OPTIONS)
    placement = plan(empty_text="drop")
    assert sum(placement.counts.values()) == 37


@pytest.mark.parametrize(("delimiter", "named"), [(";", "';'"), ("\t", "tab")])
def test_a_csv_separated_otherwise_is_named_not_a_missing_column(project, delimiter, named):
    write(project / "mine/docs.csv", rows(), delimiter=delimiter)

    message = refused()

    assert message.startswith(
        f"mine/docs.csv: line 1: the header is one field, {f'docstring{delimiter}team'!r}, holding {named}: "
        f"the file looks {named}-separated"
    )
    assert "re-save it comma-separated" in message and "missing column" not in message
    assert str(Path("data/.use-data.now")) not in message


@pytest.mark.parametrize(
    ("given", "rule"), [(None, None), ("drop", "drop"), ("Error", "error"), (" drop ", "drop")]
)
def test_empty_text_takes_error_or_drop(given, rule):
    assert own_data.given_empty_text(given, own_data.MAKE_VARIABLES) == rule


@pytest.mark.parametrize("given", ["", "yes", "skip", "1"])
def test_any_other_empty_text_is_refused_naming_the_setting(given):
    with pytest.raises(DataError) as error:
        own_data.given_empty_text(given, own_data.MAKE_VARIABLES)
    assert str(error.value) == (
        f"EMPTY_TEXT= {given!r}: is neither error nor drop; pass EMPTY_TEXT=drop to drop rows whose text is "
        "empty, or EMPTY_TEXT=error to stop at them (left out: params.yaml's data.empty_text stays)"
    )
    with pytest.raises(
        DataError, match=r"^--empty-text .*: is neither error nor drop; pass --empty-text drop"
    ):
        own_data.given_empty_text(given, own_data.OPTIONS)


def test_empty_text_is_written_to_params_yaml_and_left_as_it_was_without_it(repo_root, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((repo_root / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")

    kept = own_data.new_params_text(params, "docstring", "team", list(TEAMS))
    dropped = own_data.new_params_text(params, "docstring", "team", list(TEAMS), empty_text="drop")

    assert yaml.safe_load(kept)["data"]["empty_text"] == "error"
    assert yaml.safe_load(dropped)["data"]["empty_text"] == "drop"
    changed = [line for line in dropped.splitlines() if line not in kept.splitlines()]
    assert changed == ["  empty_text: drop"]
