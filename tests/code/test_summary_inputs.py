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
    ],
)
def test_a_file_the_report_refuses_is_refused_naming_it(spam_repo, capsys, relative, text, expected):
    spam_repo.write(relative, text)

    code, err = summarise(capsys)

    assert code == 2
    assert f"[textclf] error: {expected}" in err
    assert "not found" not in err and "Traceback" not in err


@pytest.mark.parametrize("text", ["[]\n", "null\n", "", "[" * 50_000])
def test_a_damaged_training_record_is_named_on_the_training_line_not_a_refusal(spam_repo, capsys, text):
    """The train stage's own record, which no metric depends on: a list was "not trained in this
    workspace" (a guess), then a refusal of the whole summary (no metrics, no verdict: R13A-13)."""
    spam_repo.write("reports/train_job.json", text)

    assert cli.main(["summary", "--champion", "main"]) == 0

    out = " ".join(capsys.readouterr().out.split())
    assert "Training: not shown: reports/train_job.json: " in out
    assert "delete it, and the next training writes it again" in out and "Gate:" in out


def test_an_implausible_training_figure_is_shown_as_a_dash() -> None:
    line = summary.training_line(
        {"train_samples_per_second": 1e308, "wall_seconds": 1e308, "hardware": {"cpu_count": 1e300}}
    )
    assert line == "Training (local): - wall, - training, on ? CPU cores"


def test_the_bounds_are_the_train_stages() -> None:
    from textclf.pipeline import train

    assert (summary.LONGEST_SECONDS, summary.PLAUSIBLE_RATES) == (
        train.LONGEST_SECONDS,
        train.PLAUSIBLE_RATES,
    )


def test_a_missing_training_record_is_still_no_error(spam_repo, capsys):
    (spam_repo.root / "reports/train_job.json").unlink()

    assert cli.main(["summary", "--champion", "main"]) == 0
    assert "Training: no reports/train_job.json" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# The `dvc push` line: the DVC remote as DVC reads it (system, global, repo, local; later wins)

TEMPLATE_CONFIG = (
    "[core]\n    remote = storage\n"
    "['remote \"storage\"']\n    url = s3://textclf-data/dvc\n    verify = true\n"
)


@pytest.fixture
def dvc_levels(tmp_path, monkeypatch):
    """A project folder with the template's .dvc/config, and empty global and system DVC config
    folders (DVC_GLOBAL_CONFIG_DIR, DVC_SYSTEM_CONFIG_DIR, as DVC reads them): returns a writer
    of each level's file."""
    root = tmp_path / "project"
    (root / ".dvc").mkdir(parents=True)
    folders = {"global": tmp_path / "global", "system": tmp_path / "system"}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(folders["global"]))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(folders["system"]))
    monkeypatch.chdir(root)
    files = {
        "repo": root / ".dvc/config",
        "local": root / ".dvc/config.local",
        "global": folders["global"] / "config",
        "system": folders["system"] / "config",
    }

    def write(level: str, text: str) -> None:
        files[level].write_text(text, encoding="utf-8")

    write("repo", TEMPLATE_CONFIG)
    return write


def test_the_templates_placeholder_remote_is_not_a_remote_set_up(dvc_levels):
    assert summary.dvc_remote_url() is None


@pytest.mark.parametrize(
    ("level", "text"),
    [
        # `dvc remote add -d mine s3://our-data/dvc` (no --local): the committed .dvc/config.
        ("repo", "[core]\n    remote = mine\n['remote \"mine\"']\n    url = s3://our-data/dvc\n"),
        # `dvc remote modify storage url s3://our-data/dvc`, committed (docs/workflows.md says so).
        ("repo", "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://our-data/dvc\n"),
        # `make dvc-remote`: .dvc/config.local.
        ("local", "['remote \"storage\"']\n    url = s3://our-data/dvc\n"),
        # `dvc remote add --global -d mine s3://our-data/dvc`, in a project whose .dvc/config names
        # no remote (the template's names one, which overrides it: see below).
        ("global", "[core]\n    remote = mine\n['remote \"mine\"']\n    url = s3://our-data/dvc\n"),
        ("system", "[core]\n    remote = mine\n['remote \"mine\"']\n    url = s3://our-data/dvc\n"),
    ],
)
def test_a_remote_set_at_any_level_is_found(dvc_levels, level, text):
    if level in ("global", "system"):
        dvc_levels("repo", "[core]\n    autostage = false\n")
    dvc_levels(level, text)

    assert summary.dvc_remote_url() == "s3://our-data/dvc"


def test_a_later_level_overrides_an_earlier_one(dvc_levels):
    dvc_levels("global", "['remote \"storage\"']\n    url = s3://global-data/dvc\n")
    dvc_levels("local", "['remote \"storage\"']\n    url = s3://local-data/dvc\n")

    assert summary.dvc_remote_url() == "s3://local-data/dvc"


def test_a_global_default_remote_does_not_win_over_the_committed_one(dvc_levels):
    # As DVC reads it: .dvc/config's `core.remote = storage` overrides the global `remote = mine`,
    # so `dvc push` would go to the placeholder, not to s3://our-data/dvc.
    dvc_levels("global", "[core]\n    remote = mine\n['remote \"mine\"']\n    url = s3://our-data/dvc\n")

    assert summary.dvc_remote_url() is None


def test_a_default_remote_of_no_url_or_an_unreadable_config_is_no_remote(dvc_levels):
    dvc_levels("local", "[core]\n    remote = elsewhere\n")
    assert summary.dvc_remote_url() is None

    dvc_levels("local", "this is not an ini file [\n")
    assert summary.dvc_remote_url() is None


def test_without_a_default_remote_there_is_nothing_to_push_to(dvc_levels):
    dvc_levels("repo", "['remote \"mine\"']\n    url = s3://our-data/dvc\n")

    assert summary.dvc_remote_url() is None
