"""`make use-data FILE=-h` (or --help) names a file, never an option (issue 27 round 7, F-c): it
printed use-data's help, exited 0, and make went on to `make repro`, a full retrain nobody asked for.
Real make and the project's Makefile; the clone holds a stand-in Makefile whose `repro` target only
leaves a mark, so the test shows whether the recipe reached repro without training anything."""

from __future__ import annotations

import pytest

from tests.code.test_use_data import clone  # noqa: F401 (the fixture)
from tests.code.test_use_data_make import make_use_data


@pytest.mark.parametrize("option", ["-h", "--help", "--force"])
def test_an_option_as_file_is_a_missing_file_and_repro_does_not_run(clone, option):  # noqa: F811
    (clone / "Makefile").write_text("repro:\n\ttouch REPRO_RAN\n", encoding="utf-8")

    done = make_use_data(clone, f"FILE={option}")

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{option}: not found" in done.stderr, done.stderr
    assert "usage:" not in done.stdout + done.stderr
    assert not (clone / "REPRO_RAN").exists(), "make use-data went on to make repro"
