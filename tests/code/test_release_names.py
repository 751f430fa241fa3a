"""The endpoint and Lambda names the release steps take (staging-check, promote, bake), checked
before any AWS call: `--endpoint ' '` reached InvokeEndpoint, and `promote --function ''` was
reported as TEXTCLF_REDEPLOY_FUNCTION not being set."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf import cli
from textclf.release import staging

COMMIT = "a" * 40
# Something no endpoint or function name holds: a space, a control, a non-ASCII or a punctuation
# character.
FOREIGN = st.sampled_from([" ", "\t", "\n", "\x00", "\u00a0", "\u3000", "é", "/", ".", "%", "$"])
NAME_CHARACTER = st.sampled_from("abcXYZ019-")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["staging-check", "--endpoint", " "],
            "--endpoint (or TEXTCLF_ENDPOINT_NAME) ' ' is not a SageMaker",
        ),
        (["staging-check", "--endpoint", ""], "--endpoint (or TEXTCLF_ENDPOINT_NAME) '' is not a SageMaker"),
        (["staging-check"], "name the endpoint: --endpoint (or TEXTCLF_ENDPOINT_NAME)"),
        (["staging-check", "--endpoint", "ep", "--commit", ""], "--commit '' is empty: pass the full commit"),
        (
            ["promote", "--commit", COMMIT, "--function", "", "--endpoint", "ep"],
            "--function (or TEXTCLF_REDEPLOY_FUNCTION) '' is not a Lambda function name",
        ),
        (
            ["promote", "--commit", COMMIT, "--function", "redeploy", "--endpoint", "prod ep"],
            "--endpoint (or TEXTCLF_ENDPOINT_NAME) 'prod ep' is not a SageMaker endpoint name",
        ),
        (
            ["bake", "--previous", COMMIT, "--function", "re deploy", "--endpoint", "ep"],
            "--function (or TEXTCLF_REDEPLOY_FUNCTION) 're deploy' is not a Lambda function name",
        ),
    ],
)
def test_a_name_aws_refuses_is_one_message_naming_the_option_before_any_step(
    argv, message, capsys, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)  # no params.yaml: the name is checked first
    monkeypatch.delenv("TEXTCLF_ENDPOINT_NAME", raising=False)

    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "run from the repository root" not in err


def test_staging_check_refuses_the_name_before_invoking_the_endpoint():
    class NoRuntime:
        def __getattr__(self, name):
            raise AssertionError(f"InvokeEndpoint reached: {name}")

    with pytest.raises(staging.StagingError, match="' ' is not a SageMaker endpoint name"):
        staging.check(None, " ", NoRuntime(), ["text"], ["ham"])


@settings(max_examples=200, deadline=None)
@given(head=st.text(NAME_CHARACTER, max_size=8), foreign=FOREIGN, tail=st.text(NAME_CHARACTER, max_size=8))
def test_any_name_with_a_character_aws_refuses_is_refused(head, foreign, tail):
    name = head + foreign + tail
    with pytest.raises(staging.StagingError, match="is not a SageMaker endpoint name"):
        staging.check_endpoint_name(name)
    with pytest.raises(staging.StagingError, match="is not a Lambda function name"):
        staging.check_function_name(name)


@settings(max_examples=200, deadline=None)
@given(name=st.from_regex(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", fullmatch=True))
def test_every_name_createendpoint_takes_is_taken(name):
    assert staging.check_endpoint_name(name) == name


@settings(max_examples=200, deadline=None)
@given(
    name=st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True),
    form=st.sampled_from(
        [
            "{}",
            "{}:$LATEST",
            "{}:live",
            "123456789012:function:{}",
            "arn:aws:lambda:eu-west-1:123456789012:function:{}",
        ]
    ),
)
def test_every_function_name_or_arn_invoke_takes_is_taken(name, form):
    assert staging.check_function_name(form.format(name)) == form.format(name)
