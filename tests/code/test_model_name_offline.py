"""A `model.name` that would come from the HuggingFace hub, on a machine that cannot reach it: the
error comes at once and names the setting (huggingface_hub's retries took about a minute)."""

from __future__ import annotations

import socket
import time

import pytest
from huggingface_hub import constants

from textclf.pipeline import modeling

MISSING = "no-such-owner/no-such-model"


@pytest.fixture
def hub_on_a_closed_port(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the probe is: connections are refused
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)


@pytest.mark.parametrize("load", [modeling.load_tokenizer, modeling.token_counter])
def test_an_unreachable_hub_fails_at_once_naming_the_setting(hub_on_a_closed_port, load):
    import transformers  # noqa: F401  (imported before the clock starts: its import is not the wait)

    started = time.perf_counter()
    with pytest.raises(modeling.ModelNotFoundError) as raised:
        load(MISSING)
    assert time.perf_counter() - started < 10
    message = str(raised.value)
    assert message.startswith(f"params.yaml: model.name: {MISSING!r} is neither a model folder")
    assert "cannot be reached" in message


def test_offline_mode_is_named(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(modeling.ModelNotFoundError, match=r"offline mode is on \(HF_HUB_OFFLINE=1\)"):
        modeling.load_tokenizer(MISSING)


def test_the_packaged_default_still_loads_without_the_network(hub_on_a_closed_port):
    tokenizer, source = modeling.load_tokenizer(next(iter(modeling.PACKAGED_MODELS)))
    assert source.startswith("package: ") and tokenizer("a text")["input_ids"]
