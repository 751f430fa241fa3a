"""The server never answers a score that is not a number (R14C-14): a graph whose weights went NaN
(a diverged or damaged export) gave `"score": NaN` in a 200, which no strict JSON parser reads (RFC
8259 has no NaN), and the same token in the signal lines and the capture's records. It is now a 500
that says the model, not the request, is at fault."""

from __future__ import annotations

import json
import math

import pytest
from test_serve_framing import exchange

from textclf.serving import server
from textclf.serving.inference import Prediction


def strict(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


class Scoring:
    """A predictor whose every score is `score`."""

    graph = None

    def __init__(self, score: float) -> None:
        self.score = score

    def classify(self, texts):
        return [Prediction("billing", self.score, 3, False) for _ in texts]


def service_scoring(score: float) -> server.InferenceService:
    service = server.InferenceService(server.Limits(8, 300, "truncate", signals=True))
    service.predictor, service.model_version = Scoring(score), "abc1234"
    service.ready.set()
    return service


BODY = b'{"inputs": ["Where is my parcel?"]}'
REQUEST = (
    b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
)


def answer(url: str) -> tuple[bytes, dict]:
    head, _, body = exchange(url, REQUEST).partition(b"\r\n\r\n")
    return head.split(b" ")[1], strict(body.decode("utf-8"))


@pytest.mark.parametrize("score", [math.nan, math.inf, -0.5, 1.5])
def test_a_score_that_is_no_probability_is_a_500_in_valid_json(in_process_server, score, capfd):
    status, body = answer(in_process_server(service_scoring(score)))
    assert status == b"500"
    assert body["error"].startswith("the model gave text 0 a score that is not a probability (")
    assert "NaN" not in capfd.readouterr().err  # no signal line with NaN


def test_a_probability_is_answered(in_process_server):
    status, body = answer(in_process_server(service_scoring(0.75)))
    assert status == b"200" and body["predictions"][0]["score"] == 0.75


@pytest.mark.parametrize("score", [math.nan, math.inf, 2.0])
def test_a_model_whose_warm_up_score_is_no_probability_never_becomes_ready(tmp_path, score):
    """/ping stays 503 and the start fails naming the folder: a rollout's health check then keeps the
    previous model, where a ready server answered every request 500."""

    class Damaged(Scoring):
        def __init__(self, *_) -> None:
            super().__init__(score)

        def predict(self, texts):
            return [(p.label, p.score) for p in self.classify(texts)]

    service = server.InferenceService(server.Limits(8, 300, "truncate"))
    with pytest.raises(server.ModelDirError, match=r"the warm-up prediction's score .* is not a probability"):
        service.load(tmp_path, 64, "none", "abc1234", predictor_class=Damaged)
    assert not service.ready.is_set()
