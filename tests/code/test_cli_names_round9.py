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
