"""`textclf serve` settings from the environment, hostile (issue 27's fresh round): an empty
TEXTCLF_HOST (which the socket layer reads as every interface), a host with whitespace, a capture
flush interval it cannot use. One message each, exit 2, nothing listening; other commands unaffected."""

from __future__ import annotations

import pytest
from serving_client import write_params
from test_serve_framing import serve


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        (
            {"TEXTCLF_HOST": ""},
            ("--port", "0"),
            "'' is not a host to listen on (from --host or TEXTCLF_HOST)",
        ),
        ({}, ("--host", "", "--port", "0"), "'' is not a host to listen on"),
        ({"TEXTCLF_HOST": "127.0.0.1\n"}, ("--port", "0"), "is not a host to listen on"),
        ({"TEXTCLF_HOST": "a b"}, ("--port", "0"), "is not a host to listen on"),
    ],
)
def test_a_host_that_is_empty_or_not_a_name_is_refused(tmp_path, tiny_model_dir, env, args, message):
    """Before: TEXTCLF_HOST="" listened on 0.0.0.0, every interface, without a word."""
    done = serve(tmp_path, tiny_model_dir, *args, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr[-1000:])
    assert message in done.stderr and "Traceback" not in done.stderr
    assert "listening" not in done.stdout


@pytest.mark.parametrize("value", ["0", "nan", "-1"])
def test_a_capture_flush_interval_it_cannot_use_is_one_message(tmp_path, tiny_model_dir, value):
    """Before: 0 made the capture thread spin; NaN or -1 killed it with a traceback on stderr."""
    params = write_params(tmp_path / "p.yaml", capture_fraction=0.5)
    env = {"TEXTCLF_CAPTURE_URI": "s3://textclf-data/captured/x/", "TEXTCLF_CAPTURE_FLUSH_SECONDS": value}
    done = serve(tmp_path, tiny_model_dir, "--port", "0", "--params", str(params), env=env)
    assert done.returncode == 2, done.stderr[-1000:]
    assert "TEXTCLF_CAPTURE_FLUSH_SECONDS" in done.stderr and "Traceback" not in done.stderr
