"""What is published is what was evaluated, every file the server reads (issue 27, round 7, F-a:
`textclf publish` shipped a folder whose tokenizer.json had lost its lower-casing normalizer, and
served, it answered "MY PARCEL NEVER ARRIVED" delivery 0.256 instead of 0.645 under the same model
version; only the graph's sha256 was compared). The evaluate stage records the sha256 of each file
the server reads (`served_files` in metrics/eval.json); `publish`, `stage-publish` (a pull
request's run) and the release's archive check (`verify_archive`, release-check and promote)
refuse any difference: a file changed, missing or served in addition."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
from tests.conftest import LABELS
from tests.release.evaluation import write_params

from textclf.config import AwsParams
from textclf.pipeline import evaluate
from textclf.release import promote
from textclf.serving.inference import Predictor

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TEST_ROWS = [
    ("MY PARCEL NEVER ARRIVED, WHERE IS MY DELIVERY", "delivery"),
    ("I was charged twice this month, please refund it.", "billing"),
    ("How do I send the shoes back?", "returns"),
]
SERVING = {
    "quantize": "none",
    "graph": "model.onnx",
    "rule": "none",
    "reason": "deploy.serve.quantize is none",
}


class Untouchable:
    def __getattr__(self, name: str):
        raise AssertionError(f"publish called S3's {name} before refusing")


# serving.json as the training program writes it with `auto` (textclf.pipeline.export.choose_graph):
# chosen on the validation split only; the train stage takes it unchanged (the format since f832974).
VALIDATION_SCORES = {"none": {"accuracy": 0.9, "macro_f1": 0.9}, "int8": {"accuracy": 0.8, "macro_f1": 0.8}}
JOB_AUTO = {
    "quantize": "none",
    "graph": "model.onnx",
    "rule": "auto",
    "int8_tolerance": 0.01,
    "reason": "int8 more than 0.01 of fp32 on the validation split (validation: accuracy 0.8000 vs 0.9000)",
    "scores": {"validation": VALIDATION_SCORES},
}
# The same folder's serving.json as the train stage rewrote it before f832974: chosen again on the
# validation and test splits, in evaluate's batches; the job's archive kept JOB_AUTO.
REWRITTEN_AUTO = {
    **JOB_AUTO,
    "reason": "int8 more than 0.01 of fp32 on the validation and test splits (test: accuracy 0.7 vs 0.9)",
    "scores": {"validation": VALIDATION_SCORES, "test": VALIDATION_SCORES},
    "batch_size": 64,
}


@pytest.fixture
def serving_record() -> dict:
    """The evaluated folder's serving.json (a test parametrizing `serving_record` replaces it)."""
    return SERVING


@pytest.fixture
def evaluated(tmp_path: Path, monkeypatch, tiny_model_dir: Path, serving_record: dict) -> Path:
    """A workspace whose models/model the evaluate stage scored (its metrics/eval.json), the gate
    passed (the tiny model's scores do not matter here); returns the model folder."""
    monkeypatch.chdir(tmp_path)
    model = tmp_path / promote.MODEL_DIR
    shutil.copytree(tiny_model_dir, model)
    (model / "serving.json").write_text(json.dumps(serving_record), encoding="utf-8")
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    lines = [json.dumps({"text": text, "label": label}) for text, label in TEST_ROWS]
    (prepared / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Judged at thresholds of 0 (the tiny model's scores do not matter here): the evaluate stage
    # writes its verdict (metrics/gate.json) with the workspace's params.yaml, which publish judges
    # the metrics again with.
    evaluate.run(write_params(tmp_path, LABELS, {}), model)
    return model


def publish(model: Path) -> None:
    promote.publish(COMMIT, AwsParams(), model, s3=Untouchable())


def test_evaluate_records_the_sha256_of_each_file_the_server_reads(evaluated: Path) -> None:
    metrics = json.loads(promote.METRICS_FILE.read_text(encoding="utf-8"))
    recorded = metrics[evaluate.SERVED_FILES_KEY]
    names = [
        "config.json",
        "labels.json",
        "model.onnx",
        "serving.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert sorted(recorded) == names
    assert recorded == {name: hashlib.sha256((evaluated / name).read_bytes()).hexdigest() for name in names}
    assert recorded["model.onnx"] == metrics["graph"]["sha256"]
    # Not served, so not recorded: the other graph and the PyTorch weights (the server never loads them).
    assert {path.name for path in evaluated.iterdir()} - set(recorded) >= {
        "model.int8.onnx",
        "model.safetensors",
    }
    # The evaluated folder itself is published.
    with pytest.raises(AssertionError, match="publish called S3"):
        publish(evaluated)


def test_the_record_holds_every_file_the_serving_code_opens(evaluated: Path) -> None:
    """Python's audit events show the files the serving code opens itself (JSON settings); the
    tokenizer (Rust) and the graph (ONNX Runtime, C++) are opened natively: named here."""
    recorded = json.loads(promote.METRICS_FILE.read_text(encoding="utf-8"))[evaluate.SERVED_FILES_KEY]
    opened: set[str] = set()
    watching = [True]

    def audit(event: str, arguments: tuple) -> None:
        if watching[0] and event == "open" and isinstance(arguments[0], str | Path):
            path = Path(arguments[0])
            if path.parent.resolve() == evaluated.resolve():
                opened.add(path.name)

    sys.addaudithook(audit)
    try:
        Predictor(evaluated, 32, "auto").predict(["Where is my parcel?"])
    finally:
        watching[0] = False
    assert opened and opened <= set(recorded), opened
    assert {"tokenizer.json", "model.onnx"} <= set(recorded)


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


EDITS = {
    # The round's reproduction: uppercase is no longer lower-cased (the words become [UNK]).
    "tokenizer.json": lambda model: _edit_json(model / "tokenizer.json", lambda d: d.update(normalizer=None)),
    "tokenizer_config.json": lambda model: _edit_json(
        model / "tokenizer_config.json", lambda d: d.update(model_max_length=8)
    ),
    # id2label kept, so the server's own label check passes.
    "config.json": lambda model: _edit_json(
        model / "config.json", lambda d: d.update(hidden_dropout_prob=0.5)
    ),
    "serving.json": lambda model: _edit_json(model / "serving.json", lambda d: d.update(reason="edited")),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_a_served_file_changed_after_evaluation_is_refused(evaluated: Path, name: str) -> None:
    EDITS[name](evaluated)
    with pytest.raises(promote.ReleaseError) as refused:
        publish(evaluated)
    message = str(refused.value)
    assert f"{evaluated}/{name} has sha256" in message, message
    assert "dvc repro evaluate" in message and "make repro" in message, message


def test_a_served_file_missing_or_in_addition_is_refused(evaluated: Path) -> None:
    served = (evaluated / "serving.json").read_bytes()
    (evaluated / "serving.json").unlink()  # the folder would serve deploy.serve.quantize's graph instead
    with pytest.raises(promote.ReleaseError, match=rf"{evaluated}/serving\.json is missing"):
        publish(evaluated)
    (evaluated / "serving.json").write_bytes(served)
    metrics = json.loads(promote.METRICS_FILE.read_text(encoding="utf-8"))
    del metrics[evaluate.SERVED_FILES_KEY]["serving.json"]  # evaluated without one
    promote.METRICS_FILE.write_text(json.dumps(metrics), encoding="utf-8")
    with pytest.raises(
        promote.ReleaseError, match=r"serving\.json is served but metrics/eval\.json evaluated no"
    ):
        publish(evaluated)


def test_metrics_without_the_record_are_refused_with_what_to_do(evaluated: Path) -> None:
    metrics = json.loads(promote.METRICS_FILE.read_text(encoding="utf-8"))
    del metrics[evaluate.SERVED_FILES_KEY]
    promote.METRICS_FILE.write_text(json.dumps(metrics), encoding="utf-8")
    with pytest.raises(promote.ReleaseError) as refused:
        publish(evaluated)
    message = str(refused.value)
    assert message.startswith("metrics/eval.json: no served_files"), message
    assert "older than this check" in message and "dvc repro evaluate" in message, message


@pytest.mark.parametrize(
    ("record", "said"),
    [
        (["tokenizer.json"], "must map files the server reads"),
        ({"tokenizer.json": "abc"}, "must map files the server reads"),
        ({"../secret": "0" * 64}, "must map files the server reads"),
        ({"model.onnx": "0" * 64}, "lacks config.json, labels.json, tokenizer.json, tokenizer_config.json"),
    ],
)
def test_a_record_of_the_wrong_shape_is_refused(evaluated: Path, record, said: str) -> None:
    metrics = json.loads(promote.METRICS_FILE.read_text(encoding="utf-8"))
    metrics[evaluate.SERVED_FILES_KEY] = record
    promote.METRICS_FILE.write_text(json.dumps(metrics), encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match=said):
        publish(evaluated)


def test_a_record_whose_graph_is_not_the_evaluated_graph_is_refused(evaluated: Path) -> None:
    metrics = json.loads(promote.METRICS_FILE.read_text(encoding="utf-8"))
    metrics[evaluate.SERVED_FILES_KEY]["model.onnx"] = "0" * 64
    promote.METRICS_FILE.write_text(json.dumps(metrics), encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match=r"gives model\.onnx another sha256 than graph\.sha256"):
        publish(evaluated)


def test_stage_publish_refuses_a_folder_that_is_not_the_evaluated_one(
    evaluated: Path, tmp_path: Path
) -> None:
    """A pull request's run stages the files beside its job's model from the same checks."""
    out = tmp_path / "build" / "publish"
    assert "eval.json" in promote.stage_publish(out)
    shutil.rmtree(out)
    EDITS["tokenizer.json"](evaluated)
    with pytest.raises(promote.ReleaseError, match=r"tokenizer\.json has sha256"):
        promote.stage_publish(out)
    assert not out.exists()


# --- the release: the published archive against the published eval.json --------------------------


class FakeS3:
    def __init__(self, archive: bytes, key: str = f"models/{COMMIT}/model.tar.gz") -> None:
        self.archive, self.key = archive, key

    def get_object(self, Bucket: str, Key: str) -> dict:
        assert (Bucket, Key) == ("textclf-artifacts", self.key), (Bucket, Key)
        return {"Body": io.BytesIO(self.archive)}


def archive_of(folder: Path, prefix: str = "", replace: dict[str, bytes] | None = None) -> bytes:
    """The folder as a gzip tar, `prefix` before each name (SageMaker's archives say ./name)."""
    replace = replace or {}
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        for path in sorted(folder.iterdir()):
            body = replace.get(path.name, path.read_bytes())
            info = tarfile.TarInfo(prefix + path.name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def release_check(archive: bytes, metrics: dict) -> str:
    manifest = {"sha256": hashlib.sha256(archive).hexdigest(), "metrics": metrics}
    return promote.verify_archive(COMMIT, manifest, AwsParams(), FakeS3(archive), provenance=False)


@pytest.fixture
def metrics(evaluated: Path) -> dict:
    return json.loads(promote.METRICS_FILE.read_text(encoding="utf-8"))


def test_the_release_accepts_the_evaluated_folders_archive(
    evaluated: Path, metrics: dict, tmp_path: Path
) -> None:
    packed = tmp_path / "model.tar.gz"
    promote.pack_model(evaluated, packed)
    assert release_check(packed.read_bytes(), metrics) == promote.sha256_of(packed)
    assert release_check(archive_of(evaluated, "./"), metrics)  # SageMaker's names


def test_the_release_refuses_an_archive_whose_tokenizer_was_not_evaluated(
    evaluated: Path, metrics: dict
) -> None:
    """The published archive's digest matches its manifest (the bytes were not replaced after
    publishing), but the folder it was packed from was not the one evaluated."""
    tokenizer = json.loads((evaluated / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["normalizer"] = None
    archive = archive_of(evaluated, replace={"tokenizer.json": json.dumps(tokenizer).encode()})
    with pytest.raises(promote.ReleaseError) as refused:
        release_check(archive, metrics)
    message = str(refused.value)
    assert f"s3://textclf-artifacts/models/{COMMIT}/model.tar.gz/tokenizer.json has sha256" in message, (
        message
    )
    assert "Nothing was released" in message, message


@pytest.mark.parametrize("serving_record", [SERVING, JOB_AUTO], ids=["rule-none", "auto-on-validation"])
def test_the_release_refuses_a_serving_json_that_differs_beyond_the_graph_in_the_new_format(
    evaluated: Path, metrics: dict, serving_record: dict
) -> None:
    """Review F2: the training program writes serving.json once and the train stage takes it
    unchanged, so a record of that format (any fixed rule, or `auto` chosen on the validation
    split) ships the bytes it evaluated: any other field changed is refused, naming the rule."""
    assert release_check(archive_of(evaluated, "./"), metrics)  # the evaluated bytes
    edited = {**serving_record, "reason": "edited after evaluation"}  # the same graph served
    archive = archive_of(evaluated, replace={"serving.json": json.dumps(edited).encode()})
    with pytest.raises(promote.ReleaseError) as refused:
        release_check(archive, metrics)
    message = str(refused.value)
    assert f"models/{COMMIT}/model.tar.gz/serving.json has sha256" in message, message
    rule = f"the training program's own choice (rule {serving_record['rule']})"
    assert f"compared byte for byte: the evaluated record is {rule}" in message, message
    assert "Nothing was released" in message and "\n" not in message, message


@pytest.mark.parametrize("serving_record", [REWRITTEN_AUTO], ids=["auto-rewritten-by-the-train-stage"])
def test_a_model_published_in_the_old_format_is_compared_by_its_graph_only(
    evaluated: Path, metrics: dict, serving_record: dict
) -> None:
    """A model published before f832974: with `auto` the train stage rewrote serving.json after
    the job (choosing on the validation and test splits), so the job's archive legitimately holds
    other bytes than the evaluated record; the graph served must not differ."""
    assert set(metrics["serving"]["scores"]) == {"validation", "test"}  # what tells the format
    assert release_check(
        archive_of(evaluated, replace={"serving.json": json.dumps(JOB_AUTO).encode()}), metrics
    )
    other = {**JOB_AUTO, "quantize": "int8", "graph": "model.int8.onnx"}
    archive = archive_of(evaluated, replace={"serving.json": json.dumps(other).encode()})
    with pytest.raises(promote.ReleaseError) as refused:
        release_check(archive, metrics)
    message = str(refused.value)
    assert "serving.json serves model.int8.onnx, but" in message and "evaluated model.onnx" in message, (
        message
    )
    rule = "an auto choice scored on the test and validation splits"
    assert f"compared by the graph it serves only: the evaluated record is {rule}" in message, message


def test_a_record_of_another_shape_is_compared_byte_for_byte(evaluated: Path, metrics: dict) -> None:
    """Only the old format's own record (auto, scored on the validation split and more) loosens
    the comparison: a record without scores, on another split, under a fixed rule, or an eval.json
    without `serving`, fails closed."""
    edited = archive_of(evaluated, replace={"serving.json": json.dumps({**SERVING, "reason": "x"}).encode()})
    for serving in (
        {"rule": "auto"},
        {"rule": "auto", "scores": []},
        {"rule": "auto", "scores": {}},
        {"rule": "auto", "scores": {"test": VALIDATION_SCORES}},
        {**REWRITTEN_AUTO, "rule": "none"},
        None,
        "auto",
    ):
        shaped = (
            {**metrics, "serving": serving}
            if serving is not None
            else {key: value for key, value in metrics.items() if key != "serving"}
        )
        with pytest.raises(promote.ReleaseError, match="compared byte for byte"):
            release_check(edited, shaped)


def test_the_release_refuses_an_archive_missing_a_served_file_or_not_a_tar(
    evaluated: Path, metrics: dict
) -> None:
    (evaluated / "tokenizer_config.json").rename(evaluated.parent / "aside.json")
    with pytest.raises(promote.ReleaseError, match=r"tokenizer_config\.json is missing"):
        release_check(archive_of(evaluated), metrics)
    with pytest.raises(promote.ReleaseError, match="not a gzip tar archive the server can unpack"):
        release_check(b"not an archive", metrics)


def test_a_model_published_before_the_record_has_its_digest_checked_only(
    evaluated: Path, metrics: dict
) -> None:
    """A reviewed rollback to a model published before evaluate recorded served_files still passes."""
    del metrics[evaluate.SERVED_FILES_KEY]
    assert release_check(b"an archive of an earlier release", metrics)


# --- a pull request's publish: the job's archive, which the function copies, before anything is staged


JOB_KEY = f"jobs/{COMMIT}/textclf-01234567-run7-1/output/model.tar.gz"


def stage_from_job(archive: bytes, tmp_path: Path) -> list[str]:
    """stage-publish in a pull request's run: the train stage recorded the job's archive."""
    promote.TRAIN_JOB_FILE.parent.mkdir(parents=True, exist_ok=True)
    facts = {
        "backend": "sagemaker",
        "job_name": "textclf-01234567-run7-1",
        "model_artifact": f"s3://textclf-artifacts/{JOB_KEY}",
    }
    promote.TRAIN_JOB_FILE.write_text(json.dumps(facts), encoding="utf-8")
    return promote.stage_publish(tmp_path / "build" / "publish", s3=FakeS3(archive, JOB_KEY))


@pytest.mark.parametrize("serving_record", [JOB_AUTO])
def test_stage_publish_checks_the_jobs_archive_the_function_publishes(
    evaluated: Path, tmp_path: Path, serving_record: dict
) -> None:
    """The job's archive is the folder the train stage unpacked and evaluate judged: its
    serving.json is the evaluated one byte for byte (the train stage takes the job's record)."""
    assert "eval.json" in stage_from_job(archive_of(evaluated, "./"), tmp_path)
    shutil.rmtree(tmp_path / "build" / "publish")
    other = {**JOB_AUTO, "quantize": "int8", "graph": "model.int8.onnx"}
    rechosen = {**JOB_AUTO, "reason": "chosen again after the job"}
    for replaced, said in (
        ({"serving.json": json.dumps(other).encode()}, r"serving\.json serves model\.int8\.onnx"),
        (
            {"serving.json": json.dumps(rechosen).encode()},
            r"serving\.json has sha256 .*compared byte for byte",
        ),
        ({"tokenizer.json": b"{}"}, r"tokenizer\.json has sha256"),
    ):
        with pytest.raises(promote.ReleaseError, match=said) as refused:
            stage_from_job(archive_of(evaluated, replace=replaced), tmp_path)
        assert "the job's model the training-run function would publish" in str(refused.value)
        assert "nothing was staged or published" in str(refused.value)
        assert not (tmp_path / "build" / "publish").exists()


def test_stage_publish_refuses_a_job_record_without_the_archive(evaluated: Path, tmp_path: Path) -> None:
    promote.TRAIN_JOB_FILE.parent.mkdir(parents=True, exist_ok=True)
    promote.TRAIN_JOB_FILE.write_text(
        json.dumps({"backend": "sagemaker", "model_artifact": "models/x"}), encoding="utf-8"
    )
    with pytest.raises(
        promote.ReleaseError, match=r"train_job\.json: model_artifact 'models/x' is not the s3://"
    ):
        promote.stage_publish(tmp_path / "out", s3=Untouchable())
