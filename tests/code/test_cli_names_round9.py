"""Path options of the CLI (issue 27 round 9): `local-cloud --env-file` with a name longer than the file
system takes is one line, not a traceback (T-j); --env-file and sample-data/data --out holding an invisible
or bidirectional character (U+202E) or a part starting with '-' are refused instead of made (U-o1)."""

from __future__ import annotations

import pytest

from textclf import cli


def test_a_too_long_env_file_name_is_one_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["local-cloud", "--env-file", "a" * 300])

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "is not a usable file name (File name too long)" in err and "Traceback" not in err, err


@pytest.mark.parametrize("name", ["-", "x/-y", "a\u202eb", "env\u200b"])
def test_an_env_file_name_no_one_can_read_is_refused(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SystemExit):
        cli.main(["local-cloud", f"--env-file={name}"])

    err = capsys.readouterr().err
    assert "argument --env-file" in err and ("starting with '-'" in err or "holds U+" in err), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["sample-data", "data"])
@pytest.mark.parametrize(
    ("out", "said"), [("-", "starting with '-'"), ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)")]
)
def test_an_out_folder_no_one_can_read_is_not_made(tmp_path, monkeypatch, capsys, command, out, said):
    monkeypatch.chdir(tmp_path)

    assert cli.main([command, f"--out={out}"]) == 2

    err = capsys.readouterr().err
    assert f"--out {out!r}: " in err and said in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_too_long_part_of_the_env_file_makes_no_folder(tmp_path, monkeypatch, capsys):
    """U-o2: x/<300 characters> was refused only after the folder x was made (and left)."""
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SystemExit):
        cli.main(["local-cloud", "--env-file", "x/" + "a" * 300])

    assert "is not a usable file name (File name too long)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["\u202e.dvc", "-x.dvc", "data/-x.dvc"])
def test_a_dvc_file_name_no_one_can_read_is_refused(tmp_path, monkeypatch, name):
    """U-o1b: use-data --force --dvc-file $'\\u202e'.dvc wrote a .dvc file with a right-to-left override."""
    from textclf.pipeline import own_data
    from textclf.pipeline.prepare import DataError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)

    with pytest.raises(DataError, match=r"^--dvc-file .*(holds U\+202E|starting with '-')"):
        own_data.check_dvc_file(name, own_data.Path("data/raw"), force=True)


@pytest.mark.parametrize("option", ["--report", "--job-file"])
def test_batch_predict_refuses_such_names_for_its_own_files(tmp_path, repo_root, monkeypatch, capsys, option):
    (tmp_path / "params.yaml").write_text((repo_root / "params.yaml").read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing may be called
    argv = ["batch-predict", "--input", "s3://b/in/", "--output", "s3://b/out/", "--endpoint", "prod"]

    assert cli.main([*argv, f"{option}=build/\u202ex"]) == 2

    err = capsys.readouterr().err
    assert f"{option} 'build/\\u202ex': holds U+202E" in err and "nothing was started" in err, err


@pytest.mark.parametrize("out", ["models/model", "data/prepared", "work/raw", "reports", "data"])
def test_sample_data_refuses_a_folder_a_stage_writes_or_make_clean_removes(
    out, tmp_path, monkeypatch, capsys
):
    # Round 10, U-r10-5: the sample written into models/model was deleted by the next dvc repro.
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sample-data", "--out", out]) == 2
    assert "which a stage writes or make clean removes" in capsys.readouterr().err
    assert not any(tmp_path.rglob("messages.csv"))
