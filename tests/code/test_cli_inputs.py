"""The `textclf` command with bad arguments and a missing tool: one message, exit 2, no traceback."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.localcloud.server import env_file_text

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
        (("sample-data", "--out", "/proc/none"), "--out '/proc/none': must be relative to the repository"),
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


@pytest.mark.parametrize(
    ("out", "reason"),
    [
        ("{outside}", "must be relative to the repository root, not an absolute path"),
        ("src", "must not be inside src/"),
        (".git/hooks", "must not be inside .git/"),
        ("", "must name a folder inside the repository"),
        (" ", "must name a folder inside the repository"),
        (".", "not the repository root"),
        ("../outside", "must stay inside the repository"),
        ("data/../..", "must stay inside the repository"),
        ("~/data", "starts with ~ or $"),
        ("link/raw", "through a symbolic link, outside the repository"),
    ],
)
@pytest.mark.parametrize("command", ["sample-data", "data"])
def test_out_is_a_folder_inside_the_repository(tmp_path, out, reason, command):
    """`sample-data --out /etc` (or src, or an empty value: the repository root) wrote messages.csv
    there and exited 0; `data --out` the same. Refused as params.yaml's folders are, naming --out."""
    root, outside = tmp_path / "repo", tmp_path / "outside"
    (root / "src").mkdir(parents=True)
    outside.mkdir()
    (root / "link").symlink_to(outside)
    (root / "data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data/raw\n")
    out = out.format(outside=outside)

    done = textclf(root, command, "--out", out, path=str(root / "no-tools"))

    assert done.returncode == 2, done.stderr
    assert f"--out {out!r}: " in done.stderr and reason in done.stderr, done.stderr
    assert "write --out data/raw or another folder inside the repository" in done.stderr or "link" in out
    assert "Traceback" not in done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "data.dvc"]
    assert written == []


SEGMENTS = st.sampled_from(["data", "raw", "src", ".git", ".dvc", "..", ".", "", "~", "$HOME", "x y", "a\\b"])


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(SEGMENTS, min_size=0, max_size=4),
    absolute=st.booleans(),
    trailing=st.sampled_from(["", "/", " "]),
)
def test_sample_data_never_writes_outside_the_repository_or_into_its_protected_folders(
    segments, absolute, trailing
):
    """Whatever --out is made of: either the sample lands in a folder inside the repository and
    outside .git, .dvc and src, or nothing is written and the refusal names --out."""
    import contextlib
    import io
    import tempfile

    from textclf import cli

    with tempfile.TemporaryDirectory() as folder:
        # Deeper than `..` can climb in four segments, and an absolute --out inside the same temporary
        # folder: whatever a broken check lets through lands where the test looks, never elsewhere.
        root = Path(folder, "a", "b", "c", "d", "repo")
        root.mkdir(parents=True)
        out = (f"{folder}/" if absolute else "") + "/".join(segments) + trailing
        before = os.getcwd()
        errors = io.StringIO()
        os.chdir(root)
        try:
            with contextlib.redirect_stderr(errors):
                status = cli.main(["sample-data", "--out", out])
        finally:
            os.chdir(before)
        written = [p for p in Path(folder).rglob("*") if p.is_file()]
        if status == 0:
            (target,) = written
            relative = target.resolve().relative_to(root.resolve())
            assert relative.parts[0] not in (".git", ".dvc", "src") and len(relative.parts) > 1, out
        else:
            assert status == 2 and written == [], out
            # Named as given, or (a `..` after a folder that is not there) as the path it leads nowhere
            # from; either way no folder was made (issue 27, round 7, U-9).
            named = f"--out {out!r}: " in errors.getvalue() or "leads nowhere" in errors.getvalue()
            assert named, errors.getvalue()
            there = {Path(folder, *root.relative_to(folder).parts[:n]) for n in range(1, 6)}
            assert set(Path(folder).rglob("*")) == there, out


@pytest.mark.parametrize("model_dir", ["", " ", "\t"])
def test_serve_refuses_a_model_dir_that_names_no_folder(tmp_path, repo_root, model_dir):
    """`serve --model-dir ''` looked for a model in the working folder (Path("") is ".")."""
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("TEXTCLF_MODEL_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", model_dir, "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"error: --model-dir (or TEXTCLF_MODEL_DIR) {model_dir!r} names no folder" in done.stderr
    assert "--model-dir models/model" in done.stderr and "Traceback" not in done.stderr


@settings(max_examples=40, deadline=None)
@given(model_dir=st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\u00a0\u2003\u3000"), max_size=4))
def test_serve_refuses_any_blank_model_dir_before_reading_anything(model_dir):
    import contextlib
    import io

    from textclf import cli

    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), pytest.raises(SystemExit) as exit_:
        # No params file: the model folder is checked first, so this one is never read.
        cli.main(["serve", "--model-dir", model_dir, "--params", "no-such-params.yaml"])
    assert exit_.value.code == 2
    assert f"--model-dir (or TEXTCLF_MODEL_DIR) {model_dir!r} names no folder" in errors.getvalue()


def _local_cloud_refuses(env_file: str, capsys) -> str:
    from textclf import cli

    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["local-cloud", "--env-file", env_file])
    assert exit_.value.code == 2
    return capsys.readouterr().err


@settings(max_examples=60, deadline=None)
@given(env_file=st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x00"), max_size=4))
def test_local_cloud_refuses_an_env_file_that_names_no_file(env_file):
    """'' started the cloud and wrote no environment file, without a word."""
    from textclf import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["local-cloud", "--env-file", env_file])
    assert exit_.value.code == 2 and "names no file (blank" in err.getvalue()


def test_local_cloud_never_takes_a_file_it_did_not_write(tmp_path, monkeypatch, capsys):
    """It writes the file and deletes it when it stops: README.md would be overwritten, then gone."""
    from textclf import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("# keep\n", encoding="utf-8")
    # A run killed before it deleted its file: the file starts with local-cloud's own first line.
    stale = env_file_text({"AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"})
    (tmp_path / "stale").write_text(stale, encoding="utf-8")
    # Round 10's D-j: a user's own file of exports, or an empty one, passed as local-cloud's, was
    # overwritten with the local cloud's settings and deleted at the stop.
    (tmp_path / ".envrc").write_text("export AWS_PROFILE=prod-admin\nexport X=1\n", encoding="utf-8")
    (tmp_path / ".gitkeep").write_text("", encoding="utf-8")

    for theirs in ("README.md", ".envrc", ".gitkeep"):
        assert "is not an environment file local-cloud wrote" in _local_cloud_refuses(theirs, capsys)
    assert "is a folder" in _local_cloud_refuses(".", capsys)
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# keep\n"
    for env_file in ("stale", "new/env"):
        assert cli.build_parser().parse_args(["local-cloud", "--env-file", env_file]).env_file == env_file


def test_local_cloud_deletes_its_file_at_the_stop_only_while_it_holds_what_was_written(tmp_path):
    from textclf.localcloud.server import _remove_if_ours, env_file_text

    written = env_file_text({"AWS_ENDPOINT_URL": "http://127.0.0.1:1"})
    unchanged, edited = tmp_path / "unchanged", tmp_path / "edited"
    unchanged.write_text(written, encoding="utf-8")
    edited.write_text(written + "export MINE=1\n", encoding="utf-8")
    _remove_if_ours(unchanged, written)
    _remove_if_ours(edited, written)
    assert not unchanged.exists() and edited.read_text(encoding="utf-8").endswith("MINE=1\n")


@pytest.mark.parametrize(
    ("argv", "env", "option"),
    [
        (["prepare", "--params", "/nonexistent"], None, "--params '/nonexistent': not found"),
        (["gate", "--params", "conf/params.yaml"], None, "--params 'conf/params.yaml': not found"),
        (["serve"], "/nonexistent", "--params (or TEXTCLF_PARAMS) '/nonexistent': not found"),
    ],
)
def test_a_params_file_that_is_not_there_names_the_option(tmp_path, monkeypatch, capsys, argv, env, option):
    """--params /nonexistent (or TEXTCLF_PARAMS) was told to run from the repository root."""
    from textclf import cli

    monkeypatch.chdir(tmp_path)
    if env is not None:
        monkeypatch.setenv("TEXTCLF_PARAMS", env)

    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert option in err and "pass the path of your params file" in err
    assert "run from the repository root" not in err


def test_the_default_params_file_missing_still_says_where_to_run(tmp_path, monkeypatch, capsys):
    from textclf import cli

    monkeypatch.chdir(tmp_path)
    assert cli.main(["prepare"]) == 2
    assert "params.yaml: not found; run from the repository root" in capsys.readouterr().err


@settings(max_examples=100, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12))
def test_any_params_path_that_names_nothing_names_the_option(name):
    from textclf import cli

    value = f"/nonexistent-{name}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["gate", "--params", value]) == 2
    assert f"--params {value!r}" in err.getvalue()
    assert "run from the repository root" not in err.getvalue()


@pytest.mark.parametrize(
    ("target", "out", "reason"),
    [
        ("models/model", "mylink", "leads it to models/model: overlaps models/model/"),
        ("{root}/data/prepared", "mylink", "leads it to data/prepared: overlaps data/prepared/"),
        ("models/model", "mylink/sub", "leads it to models/model/sub: overlaps models/model/"),
        ("models", "mylink", "leads it to models: overlaps models/model/"),
        ("src", "mylink", "leads it to src: must not be inside src/"),
        (".dvc", "mylink", "leads it to .dvc: must not be inside .dvc/"),
        (".", "mylink", "leads it to .: must be a folder inside the repository"),
    ],
)
@pytest.mark.parametrize("command", ["sample-data", "data"])
def test_out_through_a_link_is_checked_where_the_link_leads(tmp_path, target, out, reason, command):
    """`ln -s models/model mylink; textclf sample-data --out mylink` wrote the sample into the model
    folder (the next run deletes it) and exited 0: the text was checked, not where it leads."""
    root = tmp_path / "repo"
    for folder in ("models/model", "data/prepared", "src", ".dvc"):
        (root / folder).mkdir(parents=True)
    (root / "mylink").symlink_to(target.format(root=root))
    (root / "data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data/raw\n")

    done = textclf(root, command, "--out", out, path=str(root / "no-tools"))

    assert done.returncode == 2, done.stderr
    assert f"--out {out!r}: a symbolic link {reason}" in done.stderr, done.stderr
    assert "write --out data/raw or another folder inside the repository" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "data.dvc"] == []


def test_out_through_a_link_to_a_plain_folder_is_written(tmp_path):
    root = tmp_path / "repo"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "mylink").symlink_to("data/raw")
    done = textclf(root, "sample-data", "--out", "mylink")
    assert done.returncode == 0, done.stderr
    assert (root / "data" / "raw" / "messages.csv").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ("data", "--dvc-file", "a\x1b[31mred.dvc"),
        ("data", "--dvc-file", "shown.dvc\rhidden"),
        ("sample-data", "--out", "data/\x9b2Jraw"),
    ],
    ids=["ESC", "CR", "C1-CSI"],
)
def test_a_control_character_in_an_argument_is_shown_not_sent_to_the_terminal(tmp_path, args):
    """`data --dvc-file $'a\\e[31mred.dvc'` echoed the ESC in its refusal: the terminal took the
    rest of the message for a colour code (a CR overprinted it). Shown as `\\x1b` instead."""
    done = textclf(tmp_path, *args, path=str(tmp_path / "no-tools"))
    assert done.returncode == 2, done.stderr
    assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in done.stderr), repr(
        done.stderr
    )
    shown = args[-1].replace("\x1b", "\\x1b").replace("\r", "\\x0d").replace("\x9b", "\\x9b")
    assert shown in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.parametrize(
    ("out", "said"),
    [
        ("loopA", "a symbolic link loop"),
        ("loopA/x", "'loopA' on the way is a symbolic link loop"),
        ("self", "a symbolic link loop"),
        ("dl", "a symbolic link to 'nonexist', which does not exist"),
        ("dl/x", "'dl' on the way is a symbolic link to 'nonexist', which does not exist"),
    ],
)
@pytest.mark.parametrize("command", ["sample-data", "data"])
def test_out_through_a_link_that_leads_nowhere_is_one_line(tmp_path, out, said, command):
    """A symbolic-link loop ended in "RuntimeError: Symlink loop"; a dangling link in "File exists"."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "loopA").symlink_to("loopB")
    (root / "loopB").symlink_to("loopA")
    (root / "self").symlink_to("self")
    (root / "dl").symlink_to("nonexist")
    (root / "data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data/raw\n")

    done = textclf(root, command, "--out", out, path=str(root / "no-tools"))

    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        == f"[textclf] error: --out {out!r}: {said}; pass --out a folder, e.g. --out data/raw"
    )
