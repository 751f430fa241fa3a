"""`make ecs-roll` refuses an --outputs that is no regular file at once, and an image tag ECS or Docker
would refuse before it registers anything.

R13B-10: `read_outputs` did `open(path)`: a named pipe blocked the roll until a writer came (for ever
under make), where the project's other readers name a pipe at once.
R13B-11: `--image-tag "x y"` (or `a:b@c`, or 300 characters) registered `repo:x y` as the serving
container's image and moved the service; SERVING_IMAGE_TAG reaches it unchecked from make."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest
from tests.batch.test_ecs_roll_inputs import COMMIT, SERVICE, answer
from tests.release.test_aws_settings import keys  # noqa: F401 (AWS keys, no AWS settings)

from textclf.frontdoor import ecs_roll

OUTPUTS = SERVICE[:-1] + ', "artifacts_bucket": {"value": "b"}, "serving_repository_url": {"value": "%s"}}'
REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-serving"


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("command", ["roll", "wait"])
def test_an_outputs_file_that_is_a_named_pipe_is_refused_at_once(tmp_path: Path, capsys, command) -> None:
    fifo = tmp_path / "outputs.json"
    os.mkfifo(fifo)
    argv = ["roll", "--commit", COMMIT] if command == "roll" else ["wait", "--poll", "1"]

    def writer() -> None:  # after 3 s, what a blocked open would have waited for (no reader: ENXIO)
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Timer(3, writer).start()
    started = time.monotonic()
    err = answer([*argv, "--outputs", str(fifo)], capsys)
    assert time.monotonic() - started < 5
    assert err.startswith(
        f"error: --outputs {fifo}: cannot be read (a device, pipe or socket, not a regular file); write it "
        "with `terraform output -json`"
    ), err


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("tag", ["x y", "a:b@c", "t" * 129, ".hidden", "-x", "tag\n", "t\u00e4g", "a/b"])
def test_an_image_tag_docker_would_refuse_is_named_before_anything_is_registered(
    tmp_path: Path, capsys, monkeypatch, tag
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(OUTPUTS % REPOSITORY, encoding="utf-8")
    monkeypatch.setattr(ecs_roll, "model_environment", lambda *_: pytest.fail("the manifest was read"))
    monkeypatch.setattr(ecs_roll, "roll", lambda *_: pytest.fail("a task definition was registered"))
    err = answer(["roll", "--commit", COMMIT, "--outputs", str(outputs), f"--image-tag={tag}"], capsys)
    assert err.startswith(f"error: --image-tag (SERVING_IMAGE_TAG) {tag[:80]!r} is not an image tag"), err


@pytest.mark.usefixtures("keys")
def test_an_image_longer_than_ecs_takes_is_named(tmp_path: Path, capsys, monkeypatch) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(OUTPUTS % (REPOSITORY + "/x" * 60), encoding="utf-8")
    monkeypatch.setattr(ecs_roll, "model_environment", lambda *_: {"TEXTCLF_MODEL_URL": "s3://b/m"})
    monkeypatch.setattr(ecs_roll, "roll", lambda *_: pytest.fail("a task definition was registered"))
    err = answer(["roll", "--commit", COMMIT, "--outputs", str(outputs), "--image-tag", "t" * 128], capsys)
    assert "characters: ECS takes at most 255 (serving_repository_url in --outputs" in err, err


def test_a_tag_as_make_image_tags_prints_it_is_taken(tmp_path: Path, monkeypatch) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(OUTPUTS % REPOSITORY, encoding="utf-8")
    rolled = []
    monkeypatch.setattr(ecs_roll, "model_environment", lambda *_: {"TEXTCLF_MODEL_URL": "s3://b/m"})
    monkeypatch.setattr(ecs_roll, "roll", lambda *args: rolled.append(args))
    tag = "serving-0123456789ab_v1.2"
    assert ecs_roll.main(["roll", "--commit", COMMIT, "--outputs", str(outputs), "--image-tag", tag]) == 0
    assert rolled == [("c", "s", {"TEXTCLF_MODEL_URL": "s3://b/m"}, f"{REPOSITORY}:{tag}")]
