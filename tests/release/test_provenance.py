"""The release's provenance check (textclf.release.promote.verify_provenance): a published model is
released only if its manifest shows a training job of exactly that commit, on the commit's data and
params, in the project's training image, with checkpoints of its own; and the shapes a manifest
must have, and the files publish refuses to pack."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.release.evaluation import evaluation_of, params_of, verdict_of, write_params

from textclf.config import load_params
from textclf.pipeline.train import Hyperparameters
from textclf.release import promote

REPO = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
JOB = f"textclf-{COMMIT[:8]}-run42-1"
BUCKET = "textclf-prod-artifacts-123456789012"
PREPARE = "src/textclf/pipeline/prepare.py"


def committed(path: str) -> str:
    """The file as this repository's last commit has it (dvc.lock there matches its inputs)."""
    done = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=REPO, capture_output=True, check=True)
    return done.stdout.decode("utf-8", "surrogateescape")


def consistent_commit() -> dict[str, str]:
    """params.yaml, data.dvc, the prepare stage's code as committed, and a dvc.lock whose prepare
    stage was written from exactly them (each code dependency's md5 set to the committed bytes')."""
    import hashlib

    files = {name: committed(name) for name in ("params.yaml", "dvc.lock", "data.dvc")}
    lock = yaml.safe_load(files["dvc.lock"])
    for dep in lock["stages"]["prepare"]["deps"]:
        if not dep["path"].startswith("data/"):
            files[dep["path"]] = committed(dep["path"])
            dep["md5"] = hashlib.md5(files[dep["path"]].encode("utf-8", "surrogateescape")).hexdigest()
    files["dvc.lock"] = yaml.safe_dump(lock, sort_keys=False)
    return files


FILES = consistent_commit()
assert PREPARE in FILES


def show(files: dict[str, str]):
    def read(commit: str, path: str) -> str:
        assert commit == COMMIT
        if path not in files:
            raise promote.ReleaseError(f"cannot read {path}")
        return files[path]

    return read


def hyperparameters(params_text: str, tmp: Path) -> dict[str, str]:
    (tmp / "params.yaml").write_text(params_text, encoding="utf-8")
    return Hyperparameters.from_params(load_params(tmp / "params.yaml")).for_sagemaker()


def prepared_md5(lock: str) -> str:
    outs = yaml.safe_load(lock)["stages"]["prepare"]["outs"]
    return next(out["md5"] for out in outs if out["path"] == "data/prepared")


def _committed_hyperparameters() -> dict[str, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return hyperparameters(FILES["params.yaml"], Path(tmp))


HYPERPARAMETERS = _committed_hyperparameters()


def facts(**changes) -> dict:
    md5 = prepared_md5(FILES["dvc.lock"])
    digest = md5.removesuffix(".dir")
    return {
        "job_name": JOB,
        "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-prod-training:0a1b2c",
        "hyperparameters": HYPERPARAMETERS,
        "dataset_md5": md5,
        "raw_data_md5": yaml.safe_load(FILES["data.dvc"])["outs"][0]["md5"],
        "input_data": [f"s3://{BUCKET}/datasets/{digest}/{c}/" for c in ("train", "validation")],
        "checkpoint_uri": f"s3://{BUCKET}/checkpoints/{JOB}/",
        "model_artifacts": f"s3://{BUCKET}/jobs/{COMMIT}/{JOB}/output/model.tar.gz",
        **changes,
    }


def check(provenance, files=FILES) -> dict:
    manifest = {} if provenance is None else {"provenance": provenance}
    return promote.verify_provenance(COMMIT, manifest, "s3://b/models/x/manifest.json", show(files))


def test_a_job_of_the_commit_on_its_data_and_params_passes():
    assert check(facts())["job_name"] == JOB


@pytest.mark.parametrize(
    ("provenance", "reason"),
    [
        (None, "no provenance: this model was not published by a pull request's training job"),
        (facts(job_name="textclf-deadbeef-run42-1"), "is not a pull request run's job of commit"),
        (
            facts(model_artifacts=f"s3://{BUCKET}/jobs/{COMMIT}/textclf-other/output/model.tar.gz"),
            "not from job",
        ),
        # Another run's checkpoints: the job could have resumed from weights it did not train.
        (
            facts(checkpoint_uri=f"s3://{BUCKET}/checkpoints/textclf-{COMMIT[:8]}-run41-1/"),
            "not to its own prefix",
        ),
        (
            facts(training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/evil:1"),
            "not an image of the project's",
        ),
        (facts(training_image="docker.io/library/python:3"), "not an image of the project's"),
        (
            facts(hyperparameters={**facts()["hyperparameters"], "epochs": "50"}),
            "hyperparameters differ from params.yaml at the commit in epochs",
        ),
        (facts(dataset_md5="0" * 32 + ".dir"), "not on the commit's prepared data"),
        (facts(raw_data_md5=None), "prepared from raw data None"),
        (
            facts(input_data=[f"s3://{BUCKET}/datasets/{'0' * 32}/train/"]),
            "are not dataset",
        ),
        ({"job_name": JOB}, "provenance lacks"),
    ],
)
def test_anything_else_is_refused_naming_what_differs(provenance, reason):
    with pytest.raises(promote.ReleaseError, match=reason) as refused:
        check(provenance)
    assert "s3://b/models/x/manifest.json" in str(refused.value)


def test_new_data_without_dvc_repro_is_the_runs_preparation_of_the_data_dvc_names():
    """A pull request that changed data.dvc only (the retrain workflow's) has a dvc.lock written from
    other raw data: the job's data must come from the raw data data.dvc names; dvc.lock's prepared
    digest does not speak for it."""
    raw = yaml.safe_load(FILES["data.dvc"])
    raw["outs"][0]["md5"] = "f" * 32 + ".dir"
    files = {**FILES, "data.dvc": yaml.safe_dump(raw)}
    new = facts(raw_data_md5="f" * 32 + ".dir", dataset_md5="e" * 32 + ".dir")
    new["input_data"] = [f"s3://{BUCKET}/datasets/{'e' * 32}/{c}/" for c in ("train", "validation")]
    assert check(new, files)["dataset_md5"] == "e" * 32 + ".dir"
    with pytest.raises(promote.ReleaseError, match=r"not from the data data\.dvc names at the commit"):
        check(facts(), files)  # prepared from the old raw data


def test_a_lock_written_before_the_prepare_code_changed_does_not_speak_for_the_data():
    """The commit changed prepare.py without `dvc repro`: dvc.lock's prepared digest is stale, so
    the job's data is the run's own preparation of the data data.dvc names."""
    files = {**FILES, PREPARE: FILES[PREPARE] + "\n# changed\n"}
    other = facts(dataset_md5="e" * 32 + ".dir")
    other["input_data"] = [f"s3://{BUCKET}/datasets/{'e' * 32}/{c}/" for c in ("train", "validation")]
    assert check(other, files)["dataset_md5"] == "e" * 32 + ".dir"
    with pytest.raises(promote.ReleaseError, match="not on the commit's prepared data"):
        check(other)  # with the committed prepare.py, dvc.lock speaks for the data


def params_changed(change) -> str:
    """params.yaml as committed, changed by `change(raw)` (a commit of another time)."""
    raw = yaml.safe_load(FILES["params.yaml"])
    change(raw)
    return yaml.safe_dump(raw, sort_keys=False)


def without(mapping: dict, *keys: str) -> dict:
    return {key: value for key, value in mapping.items() if key not in keys}


def _before_int8_tolerance(raw: dict) -> None:
    del raw["deploy"]["serve"]["int8_tolerance"]


def _with_a_retired_setting(raw: dict) -> None:
    raw["train"]["fp16"] = True  # a training setting Hyperparameters no longer has


def test_a_rollback_across_a_change_of_hyperparameters_is_accepted():
    """A model trained before Hyperparameters changed, by its own commit's job: its job carries the
    hyperparameters its commit's code passed, so the check compares what the commit's params.yaml
    states, not what today's code would derive from it. Before: an exact match against today's
    derivation refused every model trained before a hyperparameter was added or retired."""
    # Trained before int8_tolerance existed (its params.yaml does not state it, its job lacks it).
    older = {**FILES, "params.yaml": params_changed(_before_int8_tolerance)}
    assert check(facts(hyperparameters=without(HYPERPARAMETERS, "int8_tolerance")), older)
    # Trained before quantize was passed to the job (an export setting, not a training one: it was
    # a serving setting params.yaml stated already).
    assert check(facts(hyperparameters=without(HYPERPARAMETERS, "quantize", "int8_tolerance")), older)
    # Trained with a setting since retired: the job's value is the one its params.yaml stated.
    retired = {**FILES, "params.yaml": params_changed(_with_a_retired_setting)}
    assert check(facts(hyperparameters={**HYPERPARAMETERS, "fp16": "true"}), retired)


@pytest.mark.parametrize(
    ("files", "hyperparameters", "reason"),
    [
        # A stated training setting the job did not get: its code's default is not what was reviewed.
        (FILES, without(HYPERPARAMETERS, "learning_rate"), "states train.learning_rate, the job had none"),
        (FILES, without(HYPERPARAMETERS, "model_name"), "states model.name, the job had none"),
        # A value other than the one stated (numbers compared as numbers, "2.0" is 2).
        (FILES, {**HYPERPARAMETERS, "epochs": "3"}, "differ from params.yaml at the commit in epochs"),
        (FILES, {**HYPERPARAMETERS, "quantize": "int8"}, "in quantize"),
        (FILES, {**HYPERPARAMETERS, "group_by_length": "false"}, "in group_by_length"),
        # A retired setting with another value than its commit stated, or one it never stated.
        (
            {**FILES, "params.yaml": params_changed(_with_a_retired_setting)},
            {**HYPERPARAMETERS, "fp16": "false"},
            "in fp16",
        ),
        (FILES, {**HYPERPARAMETERS, "fp16": "true"}, "fp16 is not a setting params.yaml states"),
    ],
)
def test_hyperparameters_other_than_the_commits_are_still_refused(files, hyperparameters, reason):
    with pytest.raises(promote.ReleaseError, match=reason):
        check(facts(hyperparameters=hyperparameters), files)


def test_a_model_of_another_commits_job_is_refused_whatever_its_hyperparameters():
    other = "fedcba9876543210fedcba9876543210fedcba98"
    job = f"textclf-{other[:8]}-run42-1"
    older = {**FILES, "params.yaml": params_changed(_before_int8_tolerance)}
    stolen = facts(
        job_name=job,
        hyperparameters=without(HYPERPARAMETERS, "int8_tolerance"),
        checkpoint_uri=f"s3://{BUCKET}/checkpoints/{job}/",
        model_artifacts=f"s3://{BUCKET}/jobs/{other}/{job}/output/model.tar.gz",
    )
    with pytest.raises(promote.ReleaseError, match=f"is not a pull request run's job of commit {COMMIT}"):
        check(stolen, older)


def test_the_hyperparameter_sources_are_those_hyperparameters_from_params_reads():
    """promote reads each hyperparameter's setting from params.yaml itself (a commit's params.yaml
    may have settings today's schema refuses); this keeps that map equal to from_params's."""
    raw = yaml.safe_load(FILES["params.yaml"])
    stated = {key: value for key, (_, value) in promote.stated_hyperparameters(raw).items()}
    assert set(stated) == set(HYPERPARAMETERS)
    for key, value in stated.items():
        assert promote.same_value(HYPERPARAMETERS[key], value), key
    # The export settings are exactly the ones Hyperparameters.fingerprint leaves out.
    import hashlib

    hp = Hyperparameters.from_sagemaker(HYPERPARAMETERS)
    training = hp.model_dump_json(exclude=set(promote.EXPORT_HYPERPARAMETERS)).encode()
    assert hashlib.sha256(training).hexdigest()[:16] == hp.fingerprint()


def test_params_the_release_cannot_read_are_a_named_error():
    with pytest.raises(promote.ReleaseError, match=f"params.yaml at commit {COMMIT}"):
        check(facts(), {**FILES, "params.yaml": "train: [not, a, section]\n"})


GOOD_MANIFEST = {
    "commit": COMMIT,
    "model_data_url": f"s3://{BUCKET}/models/{COMMIT}/model.tar.gz",
    "sha256": "a" * 64,
    "size_bytes": 10,
    "metrics": {"accuracy": 0.9},
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sha256": None}, "sha256"),
        ({"sha256": "A" * 64}, "sha256"),
        ({"size_bytes": "10"}, "size_bytes"),
        ({"size_bytes": True}, "size_bytes"),
        ({"metrics": [1]}, "metrics"),
        ({"model_data_url": 7}, "model_data_url"),
        ({"files": {"test_predictions.jsonl": "x"}}, "files"),
        ({"files": []}, "files"),
        ({"provenance": "job"}, "provenance"),
    ],
)
def test_a_malformed_manifest_is_a_named_error(change, field):
    with pytest.raises(promote.ReleaseError, match=f"field '{field}' must be"):
        promote.check_manifest({**GOOD_MANIFEST, **change}, "s3://b/models/x/manifest.json")
    promote.check_manifest(GOOD_MANIFEST, "s3://b/models/x/manifest.json")


def test_publish_refuses_to_pack_a_symbolic_link(tmp_path):
    """A link in the model folder would pack whatever file it points to on the runner."""
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "labels.json"):
        (model / name).write_text(json.dumps({}), encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("runner's secret", encoding="utf-8")
    (model / "notes.txt").symlink_to(secret)
    with pytest.raises(promote.ReleaseError, match=r"symbolic links .*notes\.txt"):
        promote.pack_model(model, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()


def test_the_staged_publish_files_are_those_of_a_passing_model(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.chdir(tmp_path)
    metrics, gate = tmp_path / "eval.json", tmp_path / "gate.json"
    evaluated = evaluation_of(tiny_model_dir)
    metrics.write_text(json.dumps(evaluated), encoding="utf-8")
    gate.write_text(json.dumps(verdict_of(evaluated, params_of(tiny_model_dir))), encoding="utf-8")
    write_params(tmp_path, params_of(tiny_model_dir).data.labels)  # the metrics are judged again with it
    out = tmp_path / "build" / "publish"
    staged = promote.stage_publish(out, metrics, gate, tmp_path / "no-test.jsonl", tiny_model_dir)
    assert staged == ["eval.json", "gate.json"]
    assert json.loads((out / "eval.json").read_text(encoding="utf-8")) == evaluated
    gate.write_text(json.dumps({"verdict": "fail"}), encoding="utf-8")
    with pytest.raises(promote.ReleaseError, match="the gate did not pass"):
        promote.stage_publish(out, metrics, gate, tmp_path / "no-test.jsonl", tiny_model_dir)


class FakeS3:
    """get_object and head_object on a dict of keys, as the release reads a published model."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict:
        import io

        return {"Body": io.BytesIO(self.objects[Key])}

    def head_object(self, Bucket: str, Key: str) -> dict:
        return {"ContentLength": len(self.objects[Key])}


@pytest.mark.parametrize("line", [b"not json", b"[1, 2]", b'"text"', b'{"text": "hi"}'])
def test_a_published_test_split_line_that_is_not_a_row_is_a_named_error(line, monkeypatch):
    import hashlib

    from textclf.config import AwsParams

    monkeypatch.setenv("TEXTCLF_ARTIFACTS_BUCKET", BUCKET)
    body = b'{"text": "hello", "predicted": "billing"}\n' + line + b"\n"
    manifest = {**GOOD_MANIFEST, "files": {"test_predictions.jsonl": hashlib.sha256(body).hexdigest()}}
    s3 = FakeS3(
        {
            f"models/{COMMIT}/manifest.json": json.dumps(manifest).encode(),
            f"models/{COMMIT}/model.tar.gz": b"x",
            f"models/{COMMIT}/test_predictions.jsonl": body,
        }
    )
    with pytest.raises(promote.ReleaseError, match=r"test_predictions\.jsonl line 2: not a JSON object"):
        promote.published_test_split(COMMIT, AwsParams().resolved(), s3)
