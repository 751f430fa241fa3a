"""`make use-data FORCE=...` is a yes/no setting (issue 27 round 8, D-d): FORCE=0, no or false kept
the recipe's `${FORCE:+--force}` ("any non-empty value") and replaced the user's own files. Now 1,
true, yes, on (any case) force; unset, empty, 0, false, no, off do not; any other value is refused,
naming FORCE, before anything runs. Real make, the project's Makefile, a fresh clone's data side."""

from __future__ import annotations

import pytest

from tests.code.test_use_data import clone  # noqa: F401 (the fixture)
from tests.code.test_use_data_make import make_use_data, unfolded

STAND_IN = "repro:\n\ttouch REPRO_RAN\n"  # the recipe's `make repro`, leaving a mark instead of training


@pytest.mark.parametrize("force", ["0", "no", "false", "FALSE", "off", ""])
def test_force_no_keeps_the_users_files(clone, force):  # noqa: F811
    (clone / "Makefile").write_text(STAND_IN, encoding="utf-8")
    (clone / "data/raw/mine.csv").write_text("body,kind\nhello,ham\n", encoding="utf-8")

    done = make_use_data(clone, "TEXT=body", "LABEL=kind", f"FORCE={force}")

    assert done.returncode == 2, done.stdout + done.stderr
    assert "in no DVC cache, so FORCE=1 would delete them for good: move them out" in unfolded(done.stderr)
    assert (clone / "data/raw/mine.csv").is_file()
    assert not (clone / "REPRO_RAN").exists()


@pytest.mark.parametrize("force", ["1", "true", "TRUE", "Yes"])
def test_force_yes_replaces_them(clone, force):  # noqa: F811
    (clone / "Makefile").write_text(STAND_IN, encoding="utf-8")
    (clone / "data/raw/mine.csv").write_text("body,kind\nhello,ham\n", encoding="utf-8")

    done = make_use_data(clone, "TEXT=body", "LABEL=kind", f"FORCE={force}")

    assert done.returncode == 0, done.stdout + done.stderr
    assert not (clone / "data/raw/mine.csv").exists()
    assert (clone / "REPRO_RAN").exists()


@pytest.mark.parametrize("force", ["maybe", "y", "1 0", "$(shell touch CANARY)", "`touch CANARY`"])
def test_any_other_force_is_refused_before_anything_runs(clone, force):  # noqa: F811
    (clone / "Makefile").write_text(STAND_IN, encoding="utf-8")
    (clone / "data/raw/mine.csv").write_text("body,kind\nhello,ham\n", encoding="utf-8")
    params = (clone / "params.yaml").read_bytes()

    done = make_use_data(clone, "TEXT=body", "LABEL=kind", f"FORCE={force}")

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"FORCE is '{force}', neither yes nor no: set FORCE=1" in done.stderr
    assert "[textclf]" not in done.stderr  # use-data never started
    assert (clone / "data/raw/mine.csv").is_file() and (clone / "params.yaml").read_bytes() == params
    assert not (clone / "REPRO_RAN").exists() and not (clone / "CANARY").exists()
