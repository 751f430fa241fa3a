"""params.yaml is strict: every bad file or value is refused with the key or line named, never a
traceback, and a path in params can never lead a stage out of its own outputs.

Grouped by boundary: the file itself, values, paths; then the `textclf` CLI as a user runs it, and
a property-based test over arbitrary YAML-ish text.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textclf.config import MAX_SEED, ParamsError, load_params, parse_params


@pytest.fixture
def template(repo_root) -> str:
    return (repo_root / "params.yaml").read_text(encoding="utf-8")


def write(folder: Path, content: str | bytes) -> Path:
    path = folder / "params.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def changed(template: str, section: str, key: str, value) -> dict:
    raw = yaml.safe_load(template)
    raw[section][key] = value
    return raw


# --- the file ---------------------------------------------------------------------------------


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path, template):
    text = template.replace("  epochs: 2\n", "  epochs: 2\n  epochs: 30\n")
    with pytest.raises(ParamsError, match=r"line (\d+): key 'epochs' is given twice \(first on line \d+\)"):
        load_params(write(tmp_path, text))


def test_a_duplicate_section_is_refused(tmp_path, template):
    with pytest.raises(ParamsError, match=r"key 'train' is given twice"):
        load_params(write(tmp_path, template + "\ntrain:\n  epochs: 5\n"))


def test_a_yaml_merge_key_is_refused_even_where_a_key_overrides_it(tmp_path):
    # Every setting is read where it is written (issue 27, round 10, F-m).
    text = "train:\n  <<: {epochs: 1, seed: 3}\n  epochs: 2\n"
    with pytest.raises(ParamsError, match="train takes keys through a YAML merge"):
        load_params(write(tmp_path, text))


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "{}\n", "---\n"])
def test_an_empty_file_is_refused(tmp_path, content):
    with pytest.raises(ParamsError, match=r"the file is empty; copy params.yaml from the template"):
        load_params(write(tmp_path, content))


def test_a_latin1_file_names_the_line(tmp_path, template):
    text = template.replace("# Every knob", "# Every knob (café)").encode("latin-1")
    with pytest.raises(ParamsError, match=r"line 1: bytes that are not UTF-8 \(b'\\xe9'\); re-save"):
        load_params(write(tmp_path, text))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- a\n- b\n", "expected a mapping of sections"),
        ("just text\n", "expected a mapping of sections"),
        ("train: [unclosed\n", "not valid YAML"),
        (
            "train: !!python/object:os.system {}\n",
            "line 1: train: a YAML tag .* changes what the value means",
        ),
        ("train:\n\tepochs: 2\n", "not valid YAML"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply|unknown key"),
        ("train:\n", "train: Input should be a valid dictionary"),
    ],
)
def test_a_malformed_file_says_what_is_wrong(tmp_path, content, message):
    with pytest.raises(ParamsError, match=message):
        load_params(write(tmp_path, content))


def test_an_integer_too_long_for_python_names_the_file(tmp_path, template):
    # PyYAML converts digits with int(), which refuses more than 4,300 of them (a ValueError).
    text = template.replace("  seed: 42\n", "  seed: " + "9" * 5000 + "\n", 1)
    with pytest.raises(ParamsError, match=r"params.yaml: a number too long to read"):
        load_params(write(tmp_path, text))


def test_a_folder_in_place_of_the_file(tmp_path):
    (tmp_path / "params.yaml").mkdir()
    with pytest.raises(ParamsError, match="cannot be read"):
        load_params(tmp_path / "params.yaml")


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("train", "epochs", True, r"train.epochs: expected a number, not a boolean"),
        ("train", "batch_size", False, r"train.batch_size: expected a number, not a boolean"),
        ("train", "learning_rate", True, r"train.learning_rate: expected a number, not a boolean"),
        ("train", "epochs", 1e308, r"train.epochs: Input should be less than or equal to 10000"),
        ("train", "epochs", float("inf"), r"train.epochs: Input should be a finite number"),
        ("train", "epochs", float("nan"), r"train.epochs: Input should be a finite number"),
        ("train", "seed", -1, r"train.seed: Input should be greater than or equal to 0"),
        ("train", "seed", MAX_SEED + 1, r"train.seed: Input should be less than or equal to 4294967295"),
        ("data", "seed", 2**64, r"data.seed: Input should be less than or equal to 4294967295"),
        ("train", "eval_steps", 10**30, r"train.eval_steps: Input should be less than or equal to"),
        ("train", "batch_size", 2.5, r"train.batch_size: Input should be a valid integer"),
        ("model", "max_length", 100_000, r"model.max_length: Input should be less than or equal to 512"),
        ("evaluate", "batch_size", 10**12, r"evaluate.batch_size: Input should be less than or equal"),
        ("data", "labels", [True, False], r"data.labels.0: .*quote it"),
        ("data", "text_column", " ", r"data.text_column: must name a column"),
        ("data", "labels", ["billing", " returns"], r"data.labels: labels must be non-empty, without spaces"),
        ("data", "labels", ["billing", ""], r"data.labels: labels must be non-empty"),
        ("data", "split", {"train": 0.85, "validation": 0.15, "test": 5e-324}, r"data.split.test: .*0.001"),
        ("data", "label_column", "text", r"data.label_column: must be another column than data.text_column"),
        ("sagemaker", "models_prefix", "../models", r"sagemaker.models_prefix: must be an S3 key prefix"),
        ("sagemaker", "datasets_prefix", "/datasets", r"sagemaker.datasets_prefix: must be an S3 key"),
        ("sagemaker", "poll_seconds", [True, 60], r"sagemaker.poll_seconds.0: expected a number"),
        ("sagemaker", "prices_usd_per_hour", {"ml.m5.xlarge": -1}, r"prices_usd_per_hour.ml.m5.xlarge"),
    ],
)
def test_values_the_libraries_cannot_take_name_the_key(template, section, key, value, message):
    with pytest.raises(ParamsError, match=message):
        parse_params(changed(template, section, key, value))


def test_the_seed_bounds_themselves_are_accepted(template):
    assert parse_params(changed(template, "train", "seed", MAX_SEED)).train.seed == MAX_SEED
    assert parse_params(changed(template, "train", "seed", 0)).train.seed == 0


def test_numbers_written_as_yaml_strings_still_load(tmp_path, template):
    # PyYAML reads `5e-5` (no dot) as a string: it must keep working as a number.
    text = template.replace("learning_rate: 5.0e-5", "learning_rate: 5e-5")
    assert load_params(write(tmp_path, text)).train.learning_rate == 5e-5


# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("prepared_dir", ".", "not the repository root"),
        ("prepared_dir", "./", "not the repository root"),
        ("prepared_dir", "data/..", "not the repository root"),
        ("prepared_dir", "", "must name a folder"),
        ("prepared_dir", "src", r"must not be inside src/"),
        ("prepared_dir", "src/textclf", r"must not be inside src/"),
        ("prepared_dir", ".git", r"must not be inside .git/"),
        ("prepared_dir", "./.git/hooks", r"must not be inside .git/"),
        ("prepared_dir", ".dvc/cache", r"must not be inside .dvc/"),
        ("prepared_dir", "data/raw", "apart from data.raw_dir"),
        ("prepared_dir", "data", "apart from data.raw_dir"),
        ("prepared_dir", "data/raw/prepared", "apart from data.raw_dir"),
        ("prepared_dir", "data//raw/", "apart from data.raw_dir"),
        ("prepared_dir", "../../elsewhere", r"must stay inside the repository"),
        ("prepared_dir", "models", r"must keep clear of models/model/"),
        ("prepared_dir", "metrics/prepared", r"must keep clear of metrics/"),
        ("prepared_dir", "reports", r"must keep clear of reports/"),
        ("prepared_dir", "data/../../elsewhere", r"must stay inside the repository"),
        ("prepared_dir", "/tmp/prepared", "not an absolute path"),
        ("prepared_dir", "data\\prepared", "separate folders with /"),
        ("raw_dir", ".", "not the repository root"),
        ("raw_dir", "/etc", "not an absolute path"),
        ("raw_dir", "src", r"must not be inside src/"),
        ("prepared_dir", " data/prepared", "must not start or end with a space"),
        ("raw_dir", "data/raw\t", "must not start or end with a space"),
    ],
)
def test_paths_that_could_destroy_data_are_refused(template, key, value, message):
    with pytest.raises(ParamsError, match=rf"data.{key}: .*{message}"):
        parse_params(changed(template, "data", key, value))


def test_similar_but_separate_folders_are_fine(template):
    params = parse_params(changed(template, "data", "prepared_dir", "data/raw-prepared"))
    assert params.data.prepared_dir == "data/raw-prepared"


# --- the command line -------------------------------------------------------------------------


def textclf(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("prepared_dir: data/prepared", "prepared_dir: ."), "data.prepared_dir: "),
        (lambda t: t.replace("  epochs: 2\n", "  epochs: 2\n  epochs: 3\n"), "given twice"),
        (lambda t: t.replace("epochs: 2", "epochs: yes"), "train.epochs: expected a number"),
        (lambda t: "", "the file is empty"),
    ],
)
def test_the_cli_prints_one_message_and_exits_2(tmp_path, template, edit, message):
    write(tmp_path, edit(template))
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/keep.csv").write_text("text,label\nhello,a\n", encoding="utf-8")

    done = textclf(tmp_path, "prepare")

    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "params.yaml"]  # nothing written
    assert (tmp_path / "data/raw/keep.csv").is_file()


def test_a_params_file_that_does_not_exist(tmp_path):
    done = textclf(tmp_path, "prepare", "--params", "nowhere.yaml")
    assert done.returncode == 2 and "--params 'nowhere.yaml': not found" in done.stderr
    assert "Traceback" not in done.stderr


# --- any text at all --------------------------------------------------------------------------

YAML_PIECES = st.sampled_from(
    [
        "data:\n", "train:\n", "model:\n", "  epochs: ", "  seed: ", "  prepared_dir: ", "  raw_dir: ",
        "  labels: ", "  max_length: ", "true", "1e308", "-1", ".", "..", "/", "src", ".nan", "[", "]",
        "{", "}", "&a ", "*a", "<<: ", "!!binary ", "'", '"', "\t", "\n", ": ", "- ", "#", "\\u00e9",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.one_of(YAML_PIECES, st.text(max_size=6)), max_size=30), raw=st.binary(max_size=8))
def test_any_file_loads_or_gives_a_params_error(tmp_path, pieces, raw):
    path = write(tmp_path, "".join(pieces).encode("utf-8") + raw)
    try:
        params = load_params(path)
    except ParamsError as error:
        assert str(error).startswith(str(path)), error
        return
    # Loaded: then its paths are harmless folders inside the repository.
    for folder in (params.data.raw_dir, params.data.prepared_dir):
        assert not os.path.isabs(folder) and os.path.normpath(folder) not in {".", "src", ".git"}


def test_an_unknown_backend_in_the_environment_is_refused(repo_root, monkeypatch):
    """Anything but local or sagemaker used to train locally without a word."""
    params = load_params(repo_root / "params.yaml")
    monkeypatch.setenv("TEXTCLF_TRAIN_BACKEND", "kubernetes")
    with pytest.raises(ParamsError, match=r"TEXTCLF_TRAIN_BACKEND='kubernetes': must be local or sagemaker"):
        assert params.train_backend is None  # not reached


# --- the SageMaker job's role, image and key (issue 27) ---------------------------------------

ROLE = "arn:aws:iam::123456789012:role/textclf-prod-sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-prod-training:0123456789abcdef0123"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# What a refused kms_key_id says: use the key ARN (Terraform output kms_key_arn), not an alias.
KEY_ARN_PLEASE = (
    r"must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key ID> \(Terraform output kms_key_arn\), "
    r"or key ID \(1234abcd-12ab-34cd-56ef-1234567890ab\); not an alias or alias ARN, which the training "
    r"volume's VolumeKmsKeyId does not take"
)
SAGEMAKER_ENV = {
    "role_arn": "TEXTCLF_SAGEMAKER_ROLE_ARN",
    "training_image": "TEXTCLF_TRAINING_IMAGE_URI",
    "kms_key_id": "TEXTCLF_KMS_KEY_ID",
}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("role_arn", "not-an-arn", r"must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>"),
        ("role_arn", "", r"is empty; must be an IAM role ARN"),
        ("role_arn", "arn:aws:iam::123456789012:user/alice", r"must be an IAM role ARN"),
        ("role_arn", "arn:aws:iam::12345:role/x", r"must be an IAM role ARN"),
        ("role_arn", ROLE + "\n", r"must be an IAM role ARN"),
        ("kms_key_id", "", r"is empty; must be a KMS key ARN, .*or null for the buckets' own encryption"),
        ("kms_key_id", "my key", r"must be a KMS key ARN"),
        ("kms_key_id", "arn:aws:kms:us-east-1:123456789012:key/not-a-uuid", r"must be a KMS key ARN"),
        ("kms_key_id", "textclf-prod", r"must be a KMS key ARN"),
        # OutputDataConfig.KmsKeyId takes an alias, the training volume's VolumeKmsKeyId does not.
        ("kms_key_id", "alias/textclf-prod", KEY_ARN_PLEASE),
        ("kms_key_id", "arn:aws:kms:eu-central-1:123456789012:alias/team/textclf", KEY_ARN_PLEASE),
        ("training_image", "$(id)", r"must be an Amazon ECR image URI"),
        ("training_image", "", r"is empty; must be an Amazon ECR image URI"),
        ("training_image", "docker.io/library/python:3.11", r"must be an Amazon ECR image URI"),
        ("training_image", IMAGE.rsplit(":", 1)[0], r"must be an Amazon ECR image URI"),  # no tag
        ("training_image", IMAGE + "x" * 200, r"must be an Amazon ECR image URI of at most 255 characters"),
    ],
)
def test_role_image_and_key_sagemaker_refuses_are_refused_when_params_load(template, key, value, message):
    """`role_arn: not-an-arn`, `kms_key_id: ''` and `training_image: '$(id)'` loaded without a word
    and failed only when the training job started."""
    with pytest.raises(ParamsError, match=rf"params.yaml: sagemaker.{key}: {message}"):
        parse_params(changed(template, "sagemaker", key, value))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("role_arn", None),
        ("role_arn", ROLE),
        ("role_arn", "arn:aws-cn:iam::123456789012:role/service-role/path/textclf"),
        ("training_image", None),
        ("training_image", IMAGE),
        ("training_image", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/train@sha256:" + "a" * 64),
        ("kms_key_id", None),
        ("kms_key_id", KEY),
        ("kms_key_id", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("kms_key_id", "mrk-1234abcd12ab34cd56ef1234567890ab"),
        ("kms_key_id", "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
    ],
)
def test_null_and_every_documented_form_load(template, key, value):
    """null stays "not set" (the template's value: CI passes the environment variables)."""
    assert getattr(parse_params(changed(template, "sagemaker", key, value)).sagemaker, key) == value


@pytest.mark.parametrize("key", sorted(SAGEMAKER_ENV))
def test_an_environment_override_is_checked_the_same_and_names_the_variable(repo_root, monkeypatch, key):
    sagemaker = load_params(repo_root / "params.yaml").sagemaker
    monkeypatch.setenv(SAGEMAKER_ENV[key], "$(id)")
    with pytest.raises(ParamsError, match=rf"environment variable {SAGEMAKER_ENV[key]}='\$\(id\)': must be"):
        sagemaker.resolved()
    monkeypatch.setenv(SAGEMAKER_ENV[key], "")  # empty: unset, the file's value stands
    assert getattr(sagemaker.resolved(), key) is None
    monkeypatch.setenv(
        SAGEMAKER_ENV[key], {"role_arn": ROLE, "training_image": IMAGE, "kms_key_id": KEY}[key]
    )
    assert getattr(sagemaker.resolved(), key) == os.environ[SAGEMAKER_ENV[key]]


@functools.cache
def sagemaker_shapes() -> dict:
    """botocore's model of the SageMaker API, read once (parsing it takes a tenth of a second)."""
    from botocore.loaders import Loader

    return Loader().load_service_model("sagemaker", "service-2")["shapes"]


def aws_takes(member: str, value: str) -> bool:
    """What botocore's model of the SageMaker API (its documented length and pattern) accepts."""
    import re

    shape = sagemaker_shapes()[member]
    return shape.get("min", 0) <= len(value) <= shape["max"] and bool(re.fullmatch(shape["pattern"], value))


TEMPLATE = (Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8")
AWS_SHAPE = {"role_arn": "RoleArn", "training_image": "AlgorithmImage", "kms_key_id": "KmsKeyId"}
NEAR = st.sampled_from(
    [ROLE, IMAGE, KEY, "alias/x", "mrk-" + "0" * 32, "1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:", ""]
)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(sorted(AWS_SHAPE)),
    start=NEAR,
    cut=st.integers(0, 120),
    insert=st.text(alphabet=st.sampled_from("aZ09:/._-@+=, $()`'\"\\\n\t\u00e9\u0661\u200b"), max_size=3),
)
def test_any_value_loads_only_in_a_form_aws_documents_or_is_refused_naming_the_key(key, start, cut, insert):
    """Values near the valid forms (a valid one cut and spliced): whatever loads is something
    CreateTrainingJob's documented pattern and length accept (a key: in the forms both fields it goes
    to take, as the local cloud reads the API reference); the rest is refused naming the key."""
    from textclf.localcloud.training import kms_key_refused

    value = start[:cut] + insert + start[cut:]
    try:
        loaded = getattr(parse_params(changed(TEMPLATE, "sagemaker", key, value)).sagemaker, key)
    except ParamsError as error:
        assert str(error).startswith(f"params.yaml: sagemaker.{key}: "), error
        return
    assert loaded == value and aws_takes(AWS_SHAPE[key], value), value
    if key == "kms_key_id":
        both = {"OutputDataConfig": {"KmsKeyId": value}, "ResourceConfig": {"VolumeKmsKeyId": value}}
        assert kms_key_refused(both) is None, value


@settings(max_examples=100, deadline=None)
@given(
    key=st.sampled_from(sorted(AWS_SHAPE)),
    account=st.from_regex(r"[0-9]{12}", fullmatch=True),
    name=st.from_regex(r"[a-z0-9]{1,10}([._-][a-z0-9]{1,10}){0,3}", fullmatch=True),
    key_id=st.uuids(),
)
def test_the_documented_forms_built_from_any_parts_load(key, account, name, key_id):
    value = {
        "role_arn": f"arn:aws:iam::{account}:role/{name}",
        "training_image": f"{account}.dkr.ecr.us-east-1.amazonaws.com/{name}:v1",
        "kms_key_id": f"arn:aws:kms:us-east-1:{account}:key/{key_id}",
    }[key]
    assert getattr(parse_params(changed(TEMPLATE, "sagemaker", key, value)).sagemaker, key) == value
    assert aws_takes(AWS_SHAPE[key], value)
