"""The base's committed metrics/reference.json and metrics/data.json, as the data checks read them
(the report, and the gate with a review.data_gate rule): a damaged file is a DataCheckError naming
`<base>:<file>` and the key (the checks then show as not run), never a TypeError or AttributeError
from the PSI, and never "no reference yet" for a reference that is there (R14A-4)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.review.test_data_checks import repository  # noqa: F401 (the fixture)
from textclf.monitoring.drift import LENGTH_BOUNDS
from textclf.review import data_checks
from textclf.review.data_checks import DataCheckError

COUNTS = [5] * len(LENGTH_BOUNDS)
GOOD = {"lower_bounds": list(LENGTH_BOUNDS), "counts": COUNTS}


def damaged(counts=COUNTS, bounds=None) -> dict:
    if bounds is None:
        bounds = list(LENGTH_BOUNDS)
    return {"length_chars": {"lower_bounds": bounds, "counts": counts}}


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        (damaged([*COUNTS[:10], "1", *COUNTS[11:]]), "length_chars.counts must hold one count per bin"),
        (damaged([*COUNTS[:-1], None]), "length_chars.counts must hold one count per bin"),
        (damaged([*COUNTS[:-1], [1]]), "length_chars.counts must hold one count per bin"),
        (damaged([*COUNTS[:-1], True]), "length_chars.counts must hold one count per bin"),
        (damaged([*COUNTS[:-1], -3]), "length_chars.counts must hold one count per bin"),
        (damaged([*COUNTS[:-1], 1.5]), "length_chars.counts must hold one count per bin"),
        (damaged(COUNTS[:-1]), "length_chars.counts must hold one count per bin"),
        (damaged({"a": 1}), "length_chars.counts must hold one count per bin"),
        (damaged([0] * len(LENGTH_BOUNDS)), "length_chars.counts are all 0"),
        (damaged(bounds=5), "length_chars.lower_bounds must be a list of numbers, not 5"),
        (damaged(bounds={"a": 1}), "length_chars.lower_bounds must be a list of numbers"),
        ({"length_chars": [1, 2]}, "length_chars must be an object of lower_bounds and counts, not [1, 2]"),
        ({"length_chars": "x"}, "length_chars must be an object of lower_bounds and counts"),
        ({}, "length_chars must be an object of lower_bounds and counts, not null"),
    ],
)
def test_a_damaged_base_reference_is_named_with_its_key(reference, said):
    with pytest.raises(DataCheckError) as refused:
        data_checks._length_psi([10, 20, 300], reference, "refbase")
    message = str(refused.value)
    assert message.startswith(f"refbase:metrics/reference.json: {said}"), message
    assert "run it on refbase (dvc repro) and commit what it writes" in message


def test_a_reference_of_the_same_bins_is_compared_and_of_other_bins_is_none():
    assert isinstance(data_checks._length_psi([10, 20, 300], {"length_chars": GOOD}, "main"), float)
    other = {"length_chars": {"lower_bounds": [0, 10], "counts": [1, 2]}}
    assert data_checks._length_psi([10, 20], other, "main") is None
    assert data_checks._length_psi([10, 20], None, "main") is None


@pytest.mark.parametrize(
    ("base", "said"),
    [
        ({"classes": {"train": {"a": "1", "b": 2}}}, 'classes.train.a: "1" is not a count'),
        ({"classes": {"train": {"a": None}}}, "classes.train.a: null is not a count"),
        ({"classes": {"train": {"a": True}}}, "classes.train.a: true is not a count"),
        ({"classes": {"train": [1, 2]}}, "classes.train must map each class to its count"),
        ({"classes": [1]}, "classes must map each split to counts per class"),
        ({"classes": {"train": {"a": 0, "b": 0}}}, "classes.train counts are all 0"),
    ],
)
def test_damaged_base_class_counts_are_named_with_their_key(base, said):
    mine = {"classes": {"train": {"a": 5, "b": 7}}}
    with pytest.raises(DataCheckError) as refused:
        data_checks._class_prior_psi(mine, base, "refbase")
    assert str(refused.value).startswith(f"refbase:metrics/data.json: {said}"), refused.value


def test_the_checks_on_a_base_with_a_damaged_reference_name_it(repository):  # noqa: F811
    reference = json.loads(Path("metrics/reference.json").read_text())
    reference["length_chars"]["counts"][3] = "1"
    subprocess.run(["git", "switch", "-q", "-c", "refbase", "main"], check=True)
    Path("metrics/reference.json").write_text(json.dumps(reference))
    subprocess.run(["git", "commit", "-q", "-am", "damaged reference"], check=True)
    subprocess.run(["git", "switch", "-q", "-"], check=True)

    with pytest.raises(DataCheckError, match=r"^refbase:metrics/reference.json: length_chars.counts must"):
        data_checks.run(Path("data/prepared"), "refbase")
