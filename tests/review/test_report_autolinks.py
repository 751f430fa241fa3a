"""A label from the data that is a URL (`https://evil.example/login`, `www.evil.example`) must not
become a clickable link in the bot's PR comment (issue 27, round 9, U-m1): GitHub autolinks www.,
a scheme's ://, mailto: and xmpp: in plain text; md() breaks each with a zero-width space."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.review.conftest import assert_valid_tables, data_metrics, eval_metrics
from tests.review.test_report_mentions import outside_code
from textclf import cli
from textclf.review.report import md

# What GitHub's autolink extension starts a link with (GFM spec, "Autolinks (extension)").
AUTOLINK = re.compile(r"(?i)www\.|[a-z][a-z0-9+.-]*://|mailto:|xmpp:")
URLS = [
    "https://evil.example/login",
    "HTTP://x.example",
    "www.evil.example",
    "WWW.x.example",
    "mailto:a@b.example",
]


def test_md_breaks_every_autolink_and_keeps_the_text() -> None:
    for url in [*URLS, "xmpp:a@b.example", "ftp://x.example"]:
        escaped = md(url)
        assert not AUTOLINK.search(escaped), escaped
        assert escaped.replace("\u200b", "") == url


@given(st.text(alphabet="wW.:/ahtpsmilox@", max_size=30))
def test_no_text_md_returns_autolinks(text: str) -> None:
    assert not AUTOLINK.search(md(text))


def test_a_label_that_is_a_url_stays_text_in_the_report(pr_repo) -> None:
    labels = ["billing", "https://evil.example/login", "www.evil.example"]
    pr_repo.write_json("metrics/eval.json", eval_metrics({label: {label: 20} for label in labels}))
    pr_repo.write_json("metrics/data.json", data_metrics(dict.fromkeys(labels, (70, 15, 20))))
    params = pr_repo.params()
    pr_repo.write_params({**params, "data": {**params["data"], "labels": labels}})
    assert cli.main(["report", "--champion", "main"]) == 0

    report = (pr_repo.root / "reports/report.md").read_text(encoding="utf-8")
    assert_valid_tables(report)
    assert "https:\u200b//evil.example/login" in report  # shown, as text
    plain = outside_code(report)
    found = [m for m in AUTOLINK.finditer(plain) if "evil.example" in plain[m.start() : m.start() + 40]]
    assert not found, [plain[m.start() - 20 : m.start() + 40] for m in found]
