"""`textclf summary` reads the stages' JSON files as the report does (one function,
`report.read_json`): a file the report refuses is refused here too, naming the file and what is
wrong, never summed up from a guess or called "not found"."""

from __future__ import annotations

import pytest

from textclf import cli
from textclf.review import report, summary


def summarise(capsys) -> tuple[int, str]:
    code = cli.main(["summary", "--champion", "main"])
    return code, capsys.readouterr().err


def test_the_summary_reads_json_with_the_reports_own_function():
    assert summary.read_json is report.read_json


@pytest.mark.parametrize(
    ("relative", "text", "expected"),
    [
        # json.loads keeps the last of two keys: the summary showed accuracy 0.1 without a word.
        (
            "metrics/eval.json",
            '{"accuracy": 0.9, "macro_f1": 0.9, "accuracy": 0.1}\n',
            "metrics/eval.json: key 'accuracy' is given twice in one object; keep one",
        ),
        # A list, not the evaluate stage's object: the summary said "not found; run the pipeline".
        ("metrics/eval.json", "[0.9, 0.9]\n", "metrics/eval.json: expected a JSON object"),
        # The training facts as a list: the summary said "not trained in this workspace".
        ("reports/train_job.json", "[]\n", "reports/train_job.json: expected a JSON object"),
    ],
)
def test_a_file_the_report_refuses_is_refused_naming_it(spam_repo, capsys, relative, text, expected):
    spam_repo.write(relative, text)

    code, err = summarise(capsys)

    assert code == 2
    assert f"[textclf] error: {expected}" in err
    assert "not found" not in err and "Traceback" not in err


def test_a_missing_training_record_is_still_no_error(spam_repo, capsys):
    (spam_repo.root / "reports/train_job.json").unlink()

    assert cli.main(["summary", "--champion", "main"]) == 0
    assert "Training: no reports/train_job.json" in capsys.readouterr().out
