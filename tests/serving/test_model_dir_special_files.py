"""A model folder whose files are not regular files (issue 27, round 8, U-s3): serving.json as a
FIFO or a link to /dev/zero used to be taken for a missing record (the graph then came from
params.yaml's quantize, not from the folder's own choice); config.json and the others as such were
reported as missing ("lacks config.json"). Each is now named as what it is."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from textclf.serving.inference import ModelDirError, check_model_dir, served_quantize


@pytest.fixture
def model_dir(tmp_path, tiny_model_dir) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "serving.json").write_text(json.dumps({"quantize": "int8", "graph": "model.int8.onnx"}))
    return folder


def make_special(path: Path, kind: str) -> None:
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(path.parent / "nowhere")


WHAT = {"fifo": "a FIFO", "device": "a device", "folder": "a folder", "dangling": "a link to nothing"}


@pytest.mark.parametrize("kind", sorted(WHAT))
def test_a_serving_json_that_is_not_a_regular_file_is_refused(model_dir, kind):
    make_special(model_dir / "serving.json", kind)

    with pytest.raises(ModelDirError, match=rf"serving\.json is not a regular file \({WHAT[kind]}"):
        check_model_dir(model_dir, "none")
    with pytest.raises(ModelDirError, match="not a regular file"):
        served_quantize(model_dir, "none")


@pytest.mark.parametrize("name", ["config.json", "labels.json", "tokenizer.json", "model.int8.onnx"])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_required_file_that_is_not_a_regular_file_is_named_as_such(model_dir, name, kind):
    make_special(model_dir / name, kind)

    with pytest.raises(ModelDirError, match=rf"{name.replace('.', chr(92) + '.')} is not a regular file"):
        check_model_dir(model_dir, "none")


def test_a_missing_serving_json_still_serves_the_params_graph(model_dir):
    (model_dir / "serving.json").unlink()

    assert served_quantize(model_dir, "int8") == "int8"
    assert served_quantize(model_dir, "auto") == "none"
    assert check_model_dir(model_dir, "none")


@pytest.mark.parametrize("kind", sorted(WHAT))
def test_weights_that_are_not_a_regular_file_are_named_not_read(model_dir, kind):
    """R14C-11: without MODEL_VERSION the server names its model by the weights' digest, read after
    the warm-up; model.safetensors as a FIFO held `textclf serve` at /ping 503 "loading" for ever, a
    link to /dev/zero hashed without end. Now the file is named as what it is, at once."""
    import threading

    from textclf.serving.inference import weights_digest

    make_special(model_dir / "model.safetensors", kind)
    raised: list[BaseException] = []

    def digest() -> None:
        try:
            weights_digest(model_dir)
        except BaseException as error:
            raised.append(error)

    worker = threading.Thread(target=digest, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive() and kind == "fifo":
        with open(model_dir / "model.safetensors", "wb"):  # let the blocked open go, then fail
            pass
    assert not worker.is_alive() or kind == "fifo", "weights_digest did not return"
    worker.join(5)
    assert raised and isinstance(raised[0], ModelDirError), raised
    assert f"model.safetensors is not a regular file ({WHAT[kind]}" in str(raised[0])
