"""params.yaml loading: the template's file is valid, and every kind of mistake names its key."""

from __future__ import annotations

import pytest
import yaml

from textclf.config import ParamsError, load_params, parse_params


def test_the_template_params_file_is_valid(repo_root):
    params = load_params(repo_root / "params.yaml")
    assert params.model.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert params.train.backend == "local"


def with_change(repo_root, section: str, key: str, value) -> dict:
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    raw[section][key] = value
    return raw


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("train", "epochs", -1, r"train.epochs: Input should be greater than or equal to 0.01 \(got -1\)"),
        # R12-14: a value that is no run anyone means, which prepare read as "0 samples"
        (
            "train",
            "epochs",
            1e-9,
            r"train.epochs: Input should be greater than or equal to 0.01 \(got 1e-09\)",
        ),
        ("train", "epochs", 5e-324, r"train.epochs: Input should be greater than or equal to 0.01"),
        ("train", "batch_size", "sixteen", r"train.batch_size: Input should be a valid integer"),
        ("train", "learnin_rate", 0.1, r"train.learnin_rate: unknown key"),
        (
            "data",
            "split",
            {"train": 0.8, "validation": 0.15, "test": 0.15},
            r"data.split: .*sum to 1, got 1.1",
        ),
        ("data", "labels", ["a"], r"data.labels: .*at least 2 labels"),
        ("data", "labels", ["a", "a"], r"data.labels: .*distinct"),
        ("train", "backend", "kubernetes", r"train.backend: Input should be 'local' or 'sagemaker'"),
        ("model", "max_length", 4, r"model.max_length: Input should be greater than or equal to 8"),
    ],
)
def test_invalid_values_name_the_key(repo_root, section, key, value, message):
    with pytest.raises(ParamsError, match=message):
        parse_params(with_change(repo_root, section, key, value))


def test_unknown_section_is_rejected():
    with pytest.raises(ParamsError, match=r"params.yaml: trian: unknown key"):
        parse_params({"trian": {"epochs": 1}})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "params.yaml")
    broken = tmp_path / "params.yaml"
    broken.write_text("train: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)


def test_backend_override_from_the_environment(repo_root, monkeypatch):
    params = load_params(repo_root / "params.yaml")
    monkeypatch.setenv("TEXTCLF_TRAIN_BACKEND", "sagemaker")
    assert params.train_backend == "sagemaker"
