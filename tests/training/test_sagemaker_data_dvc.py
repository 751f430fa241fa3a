"""The sagemaker backend reads data.dvc for the raw data's md5 it records with the job. It read the
file unguarded (issue 27, round 11, T-d and H-l): bytes that are not UTF-8 ended `textclf train` in
a UnicodeDecodeError traceback, deep nesting in a RecursionError, and a named pipe in its place
blocked the command for ever. Now the file is read as other readers of data.dvc read it (a regular
file of at most DVC_FILE_LIMIT bytes), and what cannot be read is one line naming it, before any
job starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.release.test_aws_settings import keys  # noqa: F401 (AWS keys without other settings)
from tests.training.conftest import write_params
from textclf.training import sagemaker

MD5 = "0123456789abcdef0123456789abcdef.dir"


def refusal(dvc_file: Path) -> str:
    """raw_data_md5's refusal, from a child process: the old code blocked for ever on a pipe."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom textclf.training import sagemaker\n"
        "try:\n    print(sagemaker.raw_data_md5(Path(sys.argv[1])))\n"
        "except sagemaker.SageMakerError as error:\n    print(f'refused: {error}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(dvc_file)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"outs:\n- md5: \xff\n", "byte 13 is not UTF-8"),
        (b"[" * 20000, "nested too deeply"),
        (b"outs: [\n", "not YAML"),
        (b"#" * ((1 << 20) + 1), "larger than"),
    ],
)
def test_a_data_dvc_that_cannot_be_read_is_one_line_naming_it(tmp_path: Path, content: bytes, reason: str):
    dvc_file = tmp_path / "data.dvc"
    dvc_file.write_bytes(content)
    said = refusal(dvc_file)
    assert said.startswith(f"refused: {dvc_file}: cannot be read as a DVC file ("), said
    assert reason in said and f"git checkout {dvc_file}" in said and "\n" not in said, said


def test_a_pipe_in_its_place_is_refused_without_waiting(tmp_path: Path) -> None:
    dvc_file = tmp_path / "data.dvc"
    os.mkfifo(dvc_file)
    try:
        said = refusal(dvc_file)
    except subprocess.TimeoutExpired:
        pytest.fail("raw_data_md5 waited for a writer on a named pipe")
    assert said.startswith(f"refused: {dvc_file}: cannot be read as a DVC file (a device, pipe"), said


def test_no_data_dvc_and_a_readable_one_are_as_before(tmp_path: Path) -> None:
    assert sagemaker.raw_data_md5(tmp_path / "data.dvc") is None
    (tmp_path / "data.dvc").write_text(f"outs:\n- md5: {MD5}\n  path: data/raw\n", encoding="utf-8")
    assert sagemaker.raw_data_md5(tmp_path / "data.dvc") == MD5
    (tmp_path / "data.dvc").write_text("outs: {md5: x}\n", encoding="utf-8")
    assert sagemaker.raw_data_md5(tmp_path / "data.dvc") is None  # read, but records no md5


@pytest.mark.usefixtures("keys")
def test_the_backend_names_it_before_the_stage_removes_anything(project: Path) -> None:
    params = write_params(project)
    (project / "data.dvc").unlink(missing_ok=True)
    (project / "data.dvc").write_bytes(b"outs:\n- md5: \xff\n")
    with pytest.raises(sagemaker.SageMakerError, match=r"^data\.dvc: cannot be read as a DVC file"):
        sagemaker.preflight(params)
