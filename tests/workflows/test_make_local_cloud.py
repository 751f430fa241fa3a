"""`make local-cloud` says why the local cloud did not start (issue 27, round 8, U-h1): a
LOCALCLOUD_PORT that is not a port is named before anything starts, and the program's own refusal
(argparse's line is `textclf local-cloud: error: ...`) is shown, not only "see server.log"."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.workflows.makerun import REPO, run_make


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


def scratch_checkout(tmp_path: Path) -> Path:
    """The Makefile and mk/ in a folder of their own, with a terraform/ whose override files
    local-cloud-stop may remove: the repository's own are left alone."""
    root = tmp_path / "checkout"
    (root / "terraform/bootstrap").mkdir(parents=True)
    (root / "Makefile").symlink_to(REPO / "Makefile")
    (root / "mk").symlink_to(REPO / "mk")
    (root / "terraform/scripts").symlink_to(REPO / "terraform/scripts")
    return root


def stop(root: Path, folder: Path) -> subprocess.CompletedProcess:
    make = ("make", "-s", "--no-print-directory", "-o", ".venv/.installed")
    return subprocess.run(
        [*make, f"LOCALCLOUD_DIR={folder}", "local-cloud-stop"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")},
    )


def test_local_cloud_stop_kills_no_process_the_local_cloud_is_not(tmp_path: Path) -> None:
    """R14B-34: a stale server.pid (the local cloud died; its number now another program's) had
    local-cloud-stop send that program SIGTERM."""
    root, folder = scratch_checkout(tmp_path), tmp_path / "lc"
    folder.mkdir()
    (folder / ".textclf-local-cloud").touch()
    other = subprocess.Popen(["sleep", "60"])
    try:
        (folder / "server.pid").write_text(f"{other.pid}\n")

        done = stop(root, folder)

        assert done.returncode == 0, done.stderr
        assert (
            f"server.pid named pid {other.pid}, which is not the local cloud: nothing was killed"
            in done.stdout
        )
        assert other.poll() is None, "the unrelated process was killed"
    finally:
        other.kill()
        other.wait()


def test_local_cloud_stop_removes_nothing_in_a_folder_the_local_cloud_did_not_make(tmp_path: Path) -> None:
    """R14B-35: LOCALCLOUD_DIR=. had local-cloud-stop `rm -rf` the repository's terraform/."""
    root, folder = scratch_checkout(tmp_path), tmp_path / "mine"
    (folder / "terraform").mkdir(parents=True)
    (folder / "terraform/main.tf").write_text("# mine\n")
    (folder / "env").write_text("mine\n")

    done = stop(root, folder)

    assert done.returncode == 2
    assert f"LOCALCLOUD_DIR={folder} is no folder `make local-cloud` made" in done.stderr, done.stderr
    assert (folder / "terraform/main.tf").is_file() and (folder / "env").is_file()
