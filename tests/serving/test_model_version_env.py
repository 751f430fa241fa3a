"""MODEL_VERSION goes into every answer's X-Model-Version header: a value holding CR/LF wrote
headers of its own into every response (`abc\\r\\nSet-Cookie: x=1` set a cookie on each client).
The server refuses such a value before it listens, naming the variable and what it may hold."""

from __future__ import annotations

import pytest

from textclf.config import ServeParams
from textclf.serving import server


@pytest.mark.parametrize(
    "version",
    ["abc\r\nSet-Cookie: evil=1", "abc\n", "a b", "", "x" * 300, "caf\u00e9"],
)
def test_a_model_version_that_cannot_be_a_header_value_is_refused(tmp_path, monkeypatch, version):
    monkeypatch.setenv(server.VERSION_ENV, version)
    with pytest.raises(server.ServeError, match=r"environment variable MODEL_VERSION=.*: must be"):
        server.run(tmp_path, "127.0.0.1", 0, ServeParams(), 128, predictor_class=object)


@pytest.mark.parametrize(
    "version", ["0123456789abcdef0123456789abcdef01234567", "v-signals", "local-baa6922ff2b2"]
)
def test_commit_and_label_versions_are_taken(version):
    assert server.checked_version(version) == version
