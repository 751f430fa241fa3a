"""A label from the data such as `@admin` must not become a live GitHub mention (a notification to
whoever owns that name) in the PR comment: the report's markdown escaping puts a zero-width space
after every `@` outside code, so GitHub shows `@admin` as text."""

from __future__ import annotations

import re

from tests.review.conftest import assert_valid_tables, data_metrics, eval_metrics
from textclf import cli
from textclf.review.report import md

# GitHub's mention syntax: @ after a non-word character, then a user or org/team name.
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9][A-Za-z0-9-]*")


def outside_code(markdown: str) -> str:
    """The markdown without fenced blocks and code spans (GitHub does not link mentions there)."""
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def test_md_neutralises_mentions_and_keeps_the_text():
    escaped = md("@admin and @acme/owners, mail a@b.example")
    assert not MENTION.search(escaped)
    assert escaped.replace("\u200b", "") == "@admin and @acme/owners, mail a@b.example"


def test_a_label_that_looks_like_a_mention_stays_text_in_the_report(pr_repo):
    outcomes = {
        "billing": {"billing": 19, "returns": 1},
        "returns": {"returns": 20},
        # A label may not start with @ (a spreadsheet formula: textclf.text), but may hold one.
        "ask @admin": {"ask @admin": 18, "billing": 2},
        "cc @acme/owners": {"cc @acme/owners": 20},
    }
    pr_repo.write_json("metrics/eval.json", eval_metrics(outcomes))
    pr_repo.write_json("metrics/data.json", data_metrics({label: (70, 15, 20) for label in outcomes}))
    params = pr_repo.params()
    params["data"]["labels"] = list(outcomes)
    pr_repo.write_params(params)

    assert cli.main(["report", "--champion", "main"]) == 0

    report = (pr_repo.root / "reports/report.md").read_text(encoding="utf-8")
    assert_valid_tables(report)
    assert "ask @\u200badmin" in report  # shown, as text
    assert not MENTION.findall(outside_code(report)), MENTION.findall(outside_code(report))
