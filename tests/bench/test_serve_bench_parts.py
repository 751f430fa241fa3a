"""The serving benchmark compares like with like: its parts, on the tiny model, without servers.

tests/bench/test_bench_small.py runs the whole benchmark in its small mode; these check what its
figures rest on: the PyTorch reference does the work the ONNX predictor does (one tokenization per
request, the same tokens and truncation), the padding and GEMM-bound accounting, the direct call's
session settings, and the server's own timing read back from its log.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from tests.conftest import REPO_ROOT
from textclf.serving.inference import Predictor

BENCH = REPO_ROOT / "bench"
TEXTS = ["where is my parcel", "refund " * 80, "the invoice is wrong, please fix it"]
MAX_LENGTH = 32


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and the like look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def serve_bench():
    return load("serve_bench")


class Counting:
    """A tokenizer that counts its calls."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer, self.calls = tokenizer, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.tokenizer(*args, **kwargs)


def test_the_torch_reference_tokenizes_once_and_sees_what_the_onnx_predictor_sees(tiny_model_dir):
    reference = load("torch_reference").TorchPredictor(tiny_model_dir, MAX_LENGTH)
    counting = reference._tokenizer = Counting(reference._tokenizer)

    predictions = reference.classify(TEXTS)

    assert counting.calls == 1  # a second tokenization would slow the reference, not the ONNX server
    onnx = Predictor(tiny_model_dir, MAX_LENGTH).classify(TEXTS)
    assert [(p.tokens, p.truncated) for p in predictions] == [(p.tokens, p.truncated) for p in onnx]
    assert [p.truncated for p in predictions] == [False, True, False]
    assert [p.label for p in predictions] == [p.label for p in onnx]  # fp32 graph of the same weights


def test_padding_counts_the_padded_tokens_and_the_texts_own(serve_bench, tiny_model_dir):
    predictor = Predictor(tiny_model_dir, MAX_LENGTH)
    batches = [TEXTS[:2], TEXTS[2:]]
    own = [sum(e.attention_mask) for e in predictor.encode(TEXTS)]

    padded = serve_bench.padding(predictor, batches)

    # The first batch is padded to its longest text (MAX_LENGTH tokens), the second is one text.
    assert padded["padded_tokens_per_batch"] == (2 * MAX_LENGTH + own[2]) / 2
    assert padded["real_share"] == round(sum(own) / (2 * MAX_LENGTH + own[2]), 2)
    assert padded["tokens_per_text"] == round(sum(own) / 3, 1)


def test_the_gemm_bound_runs_the_dense_matmuls_of_the_model(serve_bench, tiny_model_dir):
    config = json.loads((tiny_model_dir / "config.json").read_text())
    hidden, inner, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]

    gemm = serve_bench.GemmBound(tiny_model_dir, Predictor(tiny_model_dir, MAX_LENGTH))

    # 4 H x H and 2 H x F matmuls per layer, as GEMMs of H x F: 18 for MiniLM's 6 layers with F = 4 H.
    assert gemm.calls == round(layers * (4 * hidden / inner + 2))
    assert gemm.classify(TEXTS) == []


def test_the_direct_call_with_other_session_settings_runs_the_same_graph(serve_bench, tiny_model_dir):
    served = serve_bench.Direct(tiny_model_dir, MAX_LENGTH, "none")
    for settings in serve_bench.SESSION_OPTIONS.values():
        other = serve_bench.Direct(tiny_model_dir, MAX_LENGTH, "none", settings)
        options = other.predictor.session.get_session_options()
        assert options.intra_op_num_threads == settings.get("threads", 0)
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == settings.get(
            "spinning", "0"
        )
        assert other.predictor.session is not served.predictor.session
        assert other.classify(TEXTS) == served.classify(TEXTS)


def test_the_servers_own_timing_and_the_references_threads_come_from_their_logs(serve_bench, tmp_path):
    log = tmp_path / "server.log"
    lines = [
        {"component": "torch_reference", "torch_threads": 2},
        "a line that is not JSON",
        # A batch: not a one-text call.
        {"kind": "textclf.prediction", "latency_ms": 40.0, "graph_ms": 39.0, "texts": 32},
        *(
            {"kind": "textclf.prediction", "latency_ms": ms, "graph_ms": graph, "texts": 1}
            for ms, graph in ((3.0, 2.5), (5.0, 3.0), (4.0, 3.5))
        ),
        {"kind": "textclf.prediction", "label": "billing"},  # a request's second text: no latency
    ]
    log.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")

    assert serve_bench.inside_p50_ms(log) == {"latency": 4.0, "graph": 3.0, "handling": 0.5}
    assert serve_bench.logged(log, "torch_threads") == 2
    assert serve_bench.logged(log, "absent") is None
    log.write_text('{"status": "ready"}\n')
    assert serve_bench.inside_p50_ms(log) is None  # signals off: no timing, not a zero
