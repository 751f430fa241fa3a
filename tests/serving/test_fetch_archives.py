"""The ECS model fetch refuses a damaged archive with its own message (R14C-7): the digest is the
published one, so the bytes are the release's, but a release that published a cut or corrupted
.tar.gz made `textclf serve` end in a traceback (EOFError "Compressed file ended before the
end-of-stream marker was reached", zlib.error), which tarfile does not turn into its own errors; the
folder is left as it was."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zlib

import pytest
from tests.slow_answers import answering

from textclf.serving import fetch

URL = "s3://textclf-fetch-artifacts/models/abc1234/model.tar.gz"
KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1"}


def model_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, size in (("config.json", 100), ("model.onnx", 200_000)):
            data = os.urandom(size)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD = model_archive()


def fetched(archive: bytes, model_dir) -> str:
    with answering([archive], len(archive)) as endpoint:
        env = {**KEYS, "AWS_ENDPOINT_URL": endpoint}
        return fetch.fetch(model_dir, URL, hashlib.sha256(archive).hexdigest(), env)


def test_a_whole_archive_is_extracted(tmp_path):
    assert fetched(GOOD, tmp_path / "model") == hashlib.sha256(GOOD).hexdigest()
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.json", "model.onnx"]


# Named, not numbered: the archive's length differs between runs (gzip and tar carry times), and
# pytest-xdist refuses workers that collected different test ids.
@pytest.mark.parametrize("cut", [len(GOOD) // 2, len(GOOD) - 30], ids=["half", "last-30-bytes"])
def test_a_cut_archive_is_refused_naming_it_and_the_folder_is_left_as_it_was(tmp_path, cut):
    model = tmp_path / "model"
    model.mkdir()
    (model / "keep.txt").write_text("the operator's")
    with pytest.raises(fetch.FetchError, match=rf"^{URL}: not a model archive \("):
        fetched(GOOD[:cut], model)
    assert [p.name for p in model.iterdir()] == ["keep.txt"]


def test_a_gzip_stream_that_fails_to_decompress_is_refused_naming_it(tmp_path, monkeypatch):
    """zlib.error is no OSError either (tarfile wraps it only while reading the first header)."""

    def failing(self, *args, **kwargs):
        raise zlib.error("Error -3 while decompressing data: invalid distance too far back")

    monkeypatch.setattr(tarfile.TarFile, "extractall", failing)
    with pytest.raises(fetch.FetchError, match=rf"^{URL}: not a model archive \(.*invalid distance"):
        fetched(GOOD, tmp_path / "model")
