"""The verified download at start (textclf.serving.fetch, what ECS tasks do): the released archive
from the local cloud's S3 (the SigV4 signature checked and IAM enforced: the reader is a role that
may read released models only), its sha256 compared before anything is extracted; `textclf serve`
with TEXTCLF_MODEL_URL serves the fetched model, and refuses other bytes with both digests named."""

from __future__ import annotations

import hashlib
import http.server
import json
import subprocess
import sys
import threading

import boto3
import pytest
from serving_client import MAX_BATCH, ServerProcess, write_params
from tests.batch.batch_world import assume_caller, tarball

from textclf.serving import fetch

BUCKET = "textclf-fetch-artifacts"
URL = f"s3://{BUCKET}/models/abc1234/model.tar.gz"


@pytest.fixture
def released(aws_env, tiny_model_dir) -> tuple[str, dict[str, str]]:
    """The tiny model released under models/, and the credentials of a role that reads models/ only."""
    archive = tarball(tiny_model_dir)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="models/abc1234/model.tar.gz", Body=archive)
    s3.put_object(Bucket=BUCKET, Key="datasets/secret.tar.gz", Body=archive)
    reader = assume_caller(
        "ecs-task",
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/models/*"}],
    )
    env = {"AWS_ENDPOINT_URL": aws_env["AWS_ENDPOINT_URL"], "AWS_REGION": "us-east-1", **reader}
    return hashlib.sha256(archive).hexdigest(), env


def test_the_released_archive_is_fetched_checked_and_extracted(released, tiny_model_dir, tmp_path):
    digest, env = released

    assert fetch.fetch(tmp_path / "model", URL, digest, env) == digest

    expected = sorted(p.name for p in tiny_model_dir.iterdir())
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == expected  # nothing else left


def test_other_bytes_are_refused_and_nothing_is_extracted(released, tmp_path):
    _, env = released
    wrong = "0" * 64

    with pytest.raises(fetch.FetchError, match=f"but the release published {wrong}"):
        fetch.fetch(tmp_path / "model", URL, wrong, env)
    assert list((tmp_path / "model").iterdir()) == []


def test_the_task_role_reads_released_models_only(released, tmp_path):
    digest, env = released

    with pytest.raises(fetch.FetchError, match="S3 answered 403"):
        fetch.fetch(tmp_path / "model", f"s3://{BUCKET}/datasets/secret.tar.gz", digest, env)
    forged = {**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    with pytest.raises(fetch.FetchError, match="S3 answered 403"):
        fetch.fetch(tmp_path / "model", URL, digest, forged)


def test_credentials_come_from_the_container_endpoint_on_ecs(released, tmp_path):
    digest, env = released
    keys = {
        "AccessKeyId": env["AWS_ACCESS_KEY_ID"],
        "SecretAccessKey": env["AWS_SECRET_ACCESS_KEY"],
        "Token": env["AWS_SESSION_TOKEN"],
    }
    seen = []

    class Credentials(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps(keys).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Credentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ecs_env = {
            "AWS_ENDPOINT_URL": env["AWS_ENDPOINT_URL"],
            "AWS_REGION": "us-east-1",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{server.server_address[1]}/v2/credentials/x",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "task-token",
        }
        assert fetch.fetch(tmp_path / "model", URL, digest, ecs_env) == digest
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("/v2/credentials/x", "task-token")]


def test_serve_fetches_the_model_and_refuses_a_wrong_digest(released, tmp_path):
    digest, env = released
    params = write_params(tmp_path / "params.yaml", max_batch_size=MAX_BATCH)
    fetched = {**env, "TEXTCLF_MODEL_URL": URL, "TEXTCLF_MODEL_SHA256": digest}
    ok = ServerProcess(tmp_path / "ok", params, tmp_path / "ok.log", env=fetched)
    try:
        ok.wait_ready()
    finally:
        assert ok.stop() == 0, (tmp_path / "ok.log").read_text()

    command = [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", str(tmp_path / "bad")]
    command += ["--port", "0", "--params", str(params)]
    refused = subprocess.run(
        command,
        env={**env, "PATH": "", "TEXTCLF_MODEL_URL": URL, "TEXTCLF_MODEL_SHA256": "1" * 64},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert f"has sha256 {digest}, but the release published {'1' * 64}" in refused.stderr
    assert refused.stdout == ""  # it never listened


def test_an_entry_colliding_with_a_non_empty_folder_is_replaced_whole(released, tiny_model_dir, tmp_path):
    digest, env = released
    model = tmp_path / "model"
    (model / "config.json").mkdir(parents=True)  # a folder where the archive has a file
    (model / "config.json" / "old").write_text("x")

    assert fetch.fetch(model, URL, digest, env) == digest

    assert (model / "config.json").read_bytes() == (tiny_model_dir / "config.json").read_bytes()
    assert sorted(p.name for p in model.iterdir()) == sorted(p.name for p in tiny_model_dir.iterdir())


def test_a_move_that_fails_half_way_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    model, staging = tmp_path / "model", tmp_path / "model" / ".extract"
    staging.mkdir(parents=True)
    for name in ("a", "b", "c"):
        (model / name).write_text(f"old {name}")
        (staging / name).write_text(f"new {name}")
    real_replace, calls = fetch.os.replace, []

    def failing(source, target):
        calls.append(source)
        if str(source).endswith("/.extract/c"):
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(fetch.os, "replace", failing)
    with pytest.raises(OSError):
        fetch._move_in(staging, model)

    assert {p.name: p.read_text() for p in model.iterdir() if p.is_file()} == {f: f"old {f}" for f in "abc"}
    assert sorted(p.name for p in model.iterdir()) == [".extract", "a", "b", "c"]  # no set-aside folder left
