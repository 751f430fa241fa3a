"""A JSON file the commands read (metrics/eval.json, the champion record, reports/*.json,
data/prepared/labels.json) that is empty or that an editor saved with a byte order mark was
"not valid JSON (Expecting value: line 1 column 1 (char 0))" or "(Unexpected UTF-8 BOM ...)", naming
neither what is wrong nor what writes the file (R13A-5). Each reader now says which, and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import textclf
from textclf import atomic
from textclf.review import champion, data_checks, report

# The commands run from the same source as the modules tested here.
SRC = Path(textclf.__file__).resolve().parents[1]


class InputError(ValueError):
    pass


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "is empty; run evaluate"),
        (b" \n\t\n", "holds only white space; run evaluate"),
        (b'\xef\xbb\xbf{"accuracy": 0.9}', "starts with a byte order mark; save it as UTF-8 without BOM"),
        (
            '{"accuracy": 0.9}'.encode("utf-16"),
            "is UTF-16 (starts with its byte order mark); save it as UTF-8",
        ),
        (b'{\n"note": "caf\xe9"}', "line 2: bytes that are not UTF-8 (b'\\xe9'); save it as UTF-8"),
        (b'{"accuracy": 0.9', "not valid JSON (Expecting"),
    ],
)
def test_a_json_file_that_is_empty_or_has_a_bom_is_named_so_with_what_writes_it(tmp_path, content, said):
    path = tmp_path / "metrics.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as refused:
        atomic.read_json_object(path, InputError, "run evaluate", " of metrics")
    message = str(refused.value)
    assert message.startswith(f"{path}: {said}"), message
    assert message.endswith("run evaluate"), message


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "metrics/eval.json: is empty; run the pipeline (dvc repro)"),
        (
            b'\xef\xbb\xbf{"accuracy": 0.9}',
            "metrics/eval.json: starts with a byte order mark; save it as UTF-8",
        ),
    ],
)
@pytest.mark.parametrize("command", ["gate", "summary"])
def test_the_gate_and_summary_say_an_empty_or_bom_metrics_file_is_so(
    tmp_path, repo_root, command, content, said
):
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/eval.json").write_bytes(content)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "textclf.cli",
            command,
            *(["--champion", "main"] if command == "gate" else []),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
    )
    assert done.returncode != 0, done.stderr
    assert said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "is empty; run the pipeline (dvc repro)"),
        (b'\xef\xbb\xbf{"p95_ms": 3}', "starts with a byte order mark; save it as UTF-8 without BOM"),
    ],
)
def test_the_report_names_an_empty_or_bom_reports_file(tmp_path, content, said):
    path = tmp_path / "latency.json"
    path.write_bytes(content)
    with pytest.raises(report.ReportError) as refused:
        report.read_json(path)
    assert str(refused.value).startswith(f"{path}: {said}"), refused.value
    assert "dvc repro" in str(refused.value)


def test_an_empty_champion_record_says_so_and_how_it_is_written_again():
    url = "s3://bucket/champion/production.json"
    with pytest.raises(champion.ChampionError) as refused:
        champion.parse_record(b"", url)
    assert str(refused.value) == (
        f"{url}: is empty; record it again at the next release (textclf champion record)"
    ), refused.value


def test_a_committed_metrics_file_that_is_empty_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/eval.json").write_bytes(b"")
    subprocess.run([*git, "add", "metrics/eval.json"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "empty"], check=True)
    with pytest.raises(champion.ChampionError) as refused:
        champion.committed_json("main", Path("metrics/eval.json"))
    assert str(refused.value).startswith("main:metrics/eval.json: is empty; commit the file the pipeline"), (
        refused.value
    )


def test_the_data_checks_name_a_labels_file_saved_with_a_bom(tmp_path):
    (tmp_path / "labels.json").write_bytes(b'\xef\xbb\xbf{"labels": ["a", "b"]}')
    with pytest.raises(data_checks.DataCheckError) as refused:
        data_checks._labels_of(tmp_path)
    message = str(refused.value)
    assert "labels.json: starts with a byte order mark; save it as UTF-8 without BOM" in message, message
    assert message.endswith("rerun the prepare stage (dvc repro)"), message
