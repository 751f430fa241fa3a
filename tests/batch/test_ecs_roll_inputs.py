"""`make ecs-roll` (python -m textclf.frontdoor.ecs_roll roll|wait) on an outputs file, a setting or
an AWS answer it cannot work with: one line naming the file and key, the setting or the AWS call,
exit 2; it ended in FileNotFoundError, JSONDecodeError, AttributeError, KeyError or
EndpointConnectionError tracebacks, and `wait --poll` took 0, nan and -1 (issue 27, round 8, T-h)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.release.test_aws_settings import keys  # noqa: F401 (AWS keys, no AWS settings)

from textclf.frontdoor import ecs_roll

COMMIT = "a" * 40
SERVICE = '{"ecs_cluster_name": {"value": "c"}, "ecs_service_name": {"value": "s"}}'


def answer(argv: list[str], capsys) -> str:
    assert ecs_roll.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot be read"),
        ("", "not JSON"),
        ("[", "not JSON"),
        ("[" * 100_000, "nested too deeply"),  # R14B-19: a RecursionError stack
        ('{"a": 1, "a": 2}', "key 'a' is given twice"),
        ("[]", "not a JSON object of outputs"),
        ('{"ecs_cluster_name": 5, "ecs_service_name": {"value": "s"}}', "'ecs_cluster_name'"),
        ('{"ecs_cluster_name": {"value": 5}, "ecs_service_name": {"value": "s"}}', "'ecs_cluster_name' is 5"),
        (SERVICE, "has no output 'artifacts_bucket'"),
    ],
)
@pytest.mark.parametrize("command", ["roll", "wait"])
def test_an_outputs_file_it_does_not_expect_is_named(tmp_path: Path, capsys, text, message, command) -> None:
    outputs = tmp_path / "outputs.json"
    if text is not None:
        outputs.write_text(text, encoding="utf-8")
    argv = ["roll", "--commit", COMMIT] if command == "roll" else ["wait", "--poll", "1"]
    if command == "wait" and "artifacts_bucket" in message:
        return  # wait reads the service's names only
    err = answer([*argv, "--outputs", str(outputs)], capsys)
    assert f"--outputs {outputs}" in err and message in err, err


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("command", ["roll", "wait"])
def test_an_unreachable_endpoint_names_the_call(tmp_path: Path, monkeypatch, capsys, command) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(SERVICE[:-1] + ', "artifacts_bucket": {"value": "b"}}', encoding="utf-8")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    if command == "roll":
        monkeypatch.setattr(ecs_roll, "model_environment", lambda *_: {"TEXTCLF_MODEL_URL": "s3://b/m"})
        argv = ["roll", "--commit", COMMIT, "--outputs", str(outputs)]
    else:
        argv = ["wait", "--outputs", str(outputs)]
    err = answer(argv, capsys)
    assert (
        "DescribeServices s in cluster c: Could not connect" in err and "check the AWS credentials" in err
    ), err


@pytest.mark.usefixtures("keys")
def test_an_aws_setting_boto3_cannot_use_is_named(tmp_path: Path, monkeypatch, capsys) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(SERVICE, encoding="utf-8")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://[::1")
    err = answer(["wait", "--outputs", str(outputs)], capsys)
    assert "AWS_ENDPOINT_URL='http://[::1'" in err, err


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--poll", "0"),
        ("--poll", "nan"),
        ("--poll", "-1"),
        ("--poll", "301"),
        ("--timeout", "inf"),
        ("--poll", "1_5"),  # R14C-19: float() read it as 15
        ("--timeout", "\u0666\u0660"),  # and other scripts' digits as 60
    ],
)
def test_poll_and_timeout_are_bounded(capsys, flag: str, value: str) -> None:
    with pytest.raises(SystemExit) as refused:
        ecs_roll.main(["wait", "--cluster", "c", "--service", "s", flag, value])
    assert refused.value.code == 2
    assert f"{flag}: {value!r} is not a number of seconds" in capsys.readouterr().err


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--prefix", "../"], "--prefix '../': give folder names each ending in '/'"),
        (["--prefix", "models/../x/"], "--prefix 'models/../x/'"),
        (["--prefix", "models"], "--prefix 'models'"),
        (["--bucket", "A B"], "bucket 'A B' is not an S3 bucket name"),
        (["--bucket", "x"], "bucket 'x' is not an S3 bucket name"),
        (["--bucket", "b..c"], "bucket 'b..c' is not an S3 bucket name"),
        (["--commit", COMMIT + "\n"], "give the released commit's full sha"),
    ],
)
def test_vars_refuses_a_prefix_bucket_or_commit_s3_would_read_elsewhere(capsys, argv, message) -> None:
    """`../` was used as is (s3://b/../<commit>/manifest.json) and 'A B' reached botocore's regex
    error; a commit with a trailing line break passed `$` (issue 27 round 9, U-e1)."""
    defaults = {"--commit": COMMIT, "--bucket": "artifacts-bucket", "--prefix": "models/"}
    defaults.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    err = answer(["vars", *(item for pair in defaults.items() for item in pair)], capsys)

    assert message in err
