"""The `textclf` command with bad arguments and a missing tool: one message, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def textclf(cwd: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sample-data", "--out", "README.md"), "README.md: cannot write the sample there (File exists)"),
        (("sample-data", "--out", "/proc/none"), "/proc/none: cannot write the sample there"),
        (("data", "--dvc-file", "missing.dvc"), "missing.dvc: not found; run from the repository root"),
    ],
)
def test_bad_arguments_are_one_message(tmp_path, args, message):
    (tmp_path / "README.md").write_text("# keep\n", encoding="utf-8")
    done = textclf(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# keep\n"


def test_a_malformed_dvc_file_without_dvc_installed_says_what_is_missing(tmp_path):
    (tmp_path / "data.dvc").write_text("- not\n- a mapping\n", encoding="utf-8")
    done = textclf(tmp_path, "data", path=str(tmp_path / "no-tools-here"))
    assert done.returncode == 2, done.stderr
    assert "`dvc` is not installed or not on PATH" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_max_length_beyond_the_models_own_limit_is_refused_before_loading(tmp_path, repo_root, command):
    model = tmp_path / "short-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert", "max_position_embeddings": 64}\n')
    template = (repo_root / "params.yaml").read_text(encoding="utf-8")
    params = template.replace("name: sentence-transformers/all-MiniLM-L6-v2", f"name: {model}")
    (tmp_path / "params.yaml").write_text(params, encoding="utf-8")

    done = textclf(tmp_path, command)

    assert done.returncode == 2, done.stderr
    # An error is folded at 100 columns, a long path too: compared without the folds and spaces.
    logged = "".join(done.stderr.replace("\n[textclf] ", "").split())
    assert "".join(f"model.max_length: 128 is longer than {model} takes (64 tokens".split()) in logged
    assert "Traceback" not in done.stderr


def test_every_textclf_command_a_make_target_runs_exists():
    """A make target calling an unregistered `textclf` command fails only when a workflow reaches it
    (production-commit once did): every command named in mk/*.mk and the Makefile is registered."""
    import re

    from textclf import cli

    repo = Path(__file__).resolve().parents[2]
    sources = [repo / "Makefile", *sorted((repo / "mk").glob("*.mk"))]
    named = {
        match
        for source in sources
        for match in re.findall(r"\$\(BIN\)/textclf\s+([a-z][a-z-]*)", source.read_text(encoding="utf-8"))
    }
    parser = cli.build_parser()
    registered = set(next(a for a in parser._actions if a.dest == "command").choices)
    assert named and named <= registered, f"not registered: {sorted(named - registered)}"


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "8080x", "", "١٢٣"])
def test_local_cloud_refuses_a_port_that_is_not_one(port, capsys):
    """99999 served on a free port instead, without a word; -1 was an OverflowError traceback."""
    from textclf import cli

    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["local-cloud", "--port", port])
    assert exit_.value.code == 2
    assert "is not a port number 0-65535" in capsys.readouterr().err


@pytest.mark.parametrize(("port", "value"), [("0", 0), ("4566", 4566), ("65535", 65535)])
def test_local_cloud_takes_a_port(port, value):
    from textclf import cli

    assert cli.build_parser().parse_args(["local-cloud", "--port", port]).port == value
