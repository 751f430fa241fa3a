"""`make local-cloud` says why the local cloud did not start (issue 27, round 8, U-h1): a
LOCALCLOUD_PORT that is not a port is named before anything starts, and the program's own refusal
(argparse's line is `textclf local-cloud: error: ...`) is shown, not only "see server.log"."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.workflows.makerun import run_make


def local_cloud(tmp_path: Path, port: str, *args: str) -> subprocess.CompletedProcess:
    lc = f"LOCALCLOUD_DIR={tmp_path / 'lc'}"
    return run_make("-s", "local-cloud", lc, *args, env={"LOCALCLOUD_PORT": port})


@pytest.mark.parametrize(
    "port", ["abc", "-1", "99999", "1 2", "", "8080x", "`touch {canary}`", "$(touch {canary})"]
)
def test_a_port_that_is_not_one_is_named_and_nothing_starts(tmp_path: Path, port: str) -> None:
    canary = tmp_path / "ran"
    value = port.format(canary=canary)
    result = local_cloud(tmp_path, value)
    assert result.returncode == 2
    assert f"LOCALCLOUD_PORT is '{value}': set it to a port number 0-65535" in result.stderr, result.stderr
    assert not (tmp_path / "lc").exists(), "the recipe went on"
    assert not canary.exists()


def test_the_programs_own_refusal_is_shown(tmp_path: Path) -> None:
    """argparse prefixes its `error:` with the program's name; the recipe found only `^error: `."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "textclf").write_text(
        "#!/bin/sh\necho 'usage: textclf local-cloud [-h]' >&2\n"
        "echo 'textclf local-cloud: error: argument --env-file: refused for the test' >&2\nexit 2\n"
    )
    (fake / "textclf").chmod(0o755)
    result = local_cloud(tmp_path, "0", f"BIN={fake}")
    assert result.returncode == 2
    assert (
        "the local cloud did not start: textclf local-cloud: error: argument --env-file: refused for the test"
        in result.stderr
    ), result.stderr
