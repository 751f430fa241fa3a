"""The staging check against answers and files of the wrong shape (issue 27's fresh round): an
endpoint that answers fewer predictions than texts made the replay pass with those rows unchecked
(a check that failed open); an answer that is not the serving contract, or a test split line that is
not an object of a text, ended in a traceback. Each is now a StagingError naming it."""

from __future__ import annotations

import io
import json
import re

import pytest

from textclf.release import staging

TEXTS = ["Where is my parcel?", "Refund please", "Card charged twice"]
LABELS = ["delivery", "returns", "billing"]


class Endpoint:
    """sagemaker-runtime's invoke_endpoint, answering a given body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def invoke_endpoint(self, **_call):
        return {"Body": io.BytesIO(self.body)}


def predictions(labels: list) -> bytes:
    return json.dumps(
        {"model_version": "x", "predictions": [{"label": label, "score": 0.9} for label in labels]}
    ).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (predictions([]), "answered 0 predictions for 3 texts"),
        (predictions(LABELS[:2]), "answered 2 predictions for 3 texts"),
        (predictions([*LABELS, "billing"]), "answered 4 predictions for 3 texts"),
        (predictions([1, 2, 3]), "or a label that is not a string"),
        (b"<html>oops</html>", "answered without the serving contract's"),
        (b'{"predictions": "delivery"}', "answered without the serving contract's"),
        (b'{"predictions": [["delivery"]]}', "answered without the serving contract's"),
        (b"[]", "answered without the serving contract's"),
    ],
)
def test_an_answer_that_cannot_be_compared_row_for_row_fails_the_check(body, message):
    with pytest.raises(staging.StagingError, match=re.escape(message)):
        staging.replay(Endpoint(body), "textclf-staging", TEXTS, LABELS, batch=8)


def test_a_full_answer_is_compared_row_for_row():
    result = staging.replay(Endpoint(predictions(LABELS)), "textclf-staging", TEXTS, LABELS, batch=8)
    assert result["mismatched_rows"] == [] and result["rows"] == 3


@pytest.mark.parametrize(
    ("test_lines", "csv_text"),
    [
        (["[1]"], "actual,predicted\nx,y\n"),
        (['{"text": 5}'], "actual,predicted\nx,y\n"),
        (['"just a string"'], "actual,predicted\nx,y\n"),
        (['{"text": "a"}'], "actual,predicted\nx\n"),
        (["[" * 100_000], "actual,predicted\nx,y\n"),
    ],
)
def test_a_test_split_or_confusion_file_of_another_shape_is_named(tmp_path, test_lines, csv_text):
    (tmp_path / "test.jsonl").write_text("\n".join(test_lines) + "\n")
    (tmp_path / "confusion.csv").write_text(csv_text)
    with pytest.raises(staging.StagingError, match="cannot read the evaluated test split"):
        staging.test_split(tmp_path, tmp_path / "confusion.csv")


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_an_empty_commit_is_refused_not_read_as_this_checkouts_outputs(value):
    """Round 7, U-7: `staging-check --commit ''` replayed this checkout's outputs without a word."""
    with pytest.raises(staging.StagingError) as refused:
        staging.check_commit_option(value)
    message = str(refused.value)
    assert message.startswith(f"--commit {value!r} is empty: pass the full commit"), message
    assert "leave it out to replay this checkout's outputs" in message, message


def test_a_commit_not_given_means_this_checkouts_outputs():
    assert staging.check_commit_option(None) is None
    assert staging.check_commit_option("a" * 40) == "a" * 40
