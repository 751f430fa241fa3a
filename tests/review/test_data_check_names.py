"""The report's data-check section shows raw file names and the base ref in code spans nothing in the
name can close: a name holding backticks (`x` @octocat **APPROVED** <img>) is shown, never rendered
as a mention, bold text or HTML in the pull request's comment."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from textclf.review import data_checks

NAMES = [
    "data/raw/x` @octocat **APPROVED** <img src=q> `y.csv",
    "data/raw/``a``.csv",
    "`start.csv",
    "end.csv`",
    "data/raw/a\n\n@octocat b.csv",
    "data/raw/a|b.csv",
]


def rendered(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


def only_code(html: str, name: str) -> bool:
    """`name` appears in `html` inside <code> and nothing outside <code> is markup from it."""
    outside = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    return "<img" not in outside and "<strong>" not in outside and "@octocat" not in outside


def checks(base: str, file: str) -> dict:
    issue = {"split": "train", "row": 1, "source": {"file": file, "row": 3}}
    found = {"issues": [issue], "rows": {"train": 10}, "seconds": 0.1, "method": "m"}
    leak = {"test_row": 2, "source": {"file": file, "row": 17}}
    return {
        "base_ref": base,
        "leakage": {"exact": [], "near": [leak], "threshold": 0.8, "seconds": 0.1},
        "label_issues": found,
        "test_rows": 5,
        "class_prior_psi": None,
        "length_psi": None,
    }


@pytest.mark.parametrize("name", NAMES)
def test_a_file_name_is_shown_whole_in_code_never_as_markup(name):
    html = rendered(
        "- Test rows nearly in train: "
        + data_checks._places([{"row": 1, "source": {"file": name, "row": 3}}], "p")
    )

    code = re.findall(r"<code>(.*?)</code>", html, flags=re.S)
    assert only_code(html, name)
    assert len(code) == 1 and "octocat" not in html.replace(code[0], "")


@pytest.mark.parametrize("name", NAMES)
def test_the_section_shows_names_and_the_base_ref_in_code_and_its_table_keeps_its_columns(name):
    text = data_checks.section(checks(name, name))
    html = rendered(text)

    assert only_code(html, name)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 4 for line in table)
