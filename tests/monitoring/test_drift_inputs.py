"""The drift Lambda refuses every malformed event, setting and reference with a DriftError that
names the field, before any arithmetic on it (no OverflowError, TypeError or RecursionError)."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.monitoring.test_drift_check import REFERENCE, THRESHOLDS, as_lines, traffic
from textclf.monitoring import drift

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("window_end_ms", "event: expected an object"),
        ([1], "event: expected an object"),
        (7, "event: expected an object"),
        ({"window_end_ms": math.inf}, "window_end_ms must be a whole number"),
        ({"window_end_ms": math.nan}, "window_end_ms must be a whole number"),
        ({"window_end_ms": 10**400}, "window_end_ms a number of more than 18 digits"),
        ({"window_end_ms": "1700000000000"}, "window_end_ms must be a whole number"),
        ({"window_end_ms": True}, "window_end_ms must be a whole number"),
        ({"window_end_ms": -5}, "window_end_ms must be a whole number"),
        ({"window_end_ms": 1.5e12}, "window_end_ms must be a whole number"),
        ({"window_end_ms": int(NOW * 1000) + 3 * 86_400_000}, "is more than 2 hours ahead"),
    ],
)
def test_a_malformed_event_is_a_drift_error_naming_it(event, message):
    with pytest.raises(drift.DriftError, match=message):
        drift.window_end(event, NOW)


def test_no_event_or_no_end_is_now_and_an_end_is_taken_as_given():
    assert drift.window_end(None, NOW) == drift.window_end({}, NOW) == int(NOW * 1000)
    assert drift.window_end({"window_end_ms": 1_799_000_000_000}, NOW) == 1_799_000_000_000


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "1e400", "ten", "100000000000"])
@pytest.mark.parametrize("name", ["MONITOR_WINDOW_HOURS", "MONITOR_MIN_PREDICTIONS", "MONITOR_PSI_SCORE"])
def test_a_setting_that_is_not_a_finite_bounded_number_is_refused(monkeypatch, name, value):
    monkeypatch.setenv("ENDPOINT_NAME", "e")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "bucket-b")
    monkeypatch.setenv(name, value)
    with pytest.raises(drift.DriftError, match=f"environment variable {name}="):
        drift.settings_from_env()


def broken(path: tuple, value) -> dict:
    reference = copy.deepcopy(REFERENCE)
    node = reference
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return reference


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("score", "counts"), ["1"] * 10),
        (("score", "counts"), [1] * 9 + [-1]),
        (("score", "counts"), [True] * 10),
        (("score", "counts"), [0] * 10),
        (("length_chars", "counts"), "12"),
        (("prediction_mix", "billing"), "0.5"),
        (("prediction_mix", "billing"), math.inf),
        (("prediction_mix",), {"billing": 0}),
    ],
)
def test_a_reference_of_the_wrong_shape_is_refused(path, value):
    with pytest.raises(drift.DriftError, match=r"s3://b/r\.json: "):
        drift.check_reference(broken(path, value), "s3://b/r.json")


def test_a_reference_nested_too_deeply_is_refused():
    class S3:
        class exceptions:
            NoSuchKey = KeyError

        def get_object(self, **_):
            import io

            return {"Body": io.BytesIO(b"[" * 100_000 + b"]" * 100_000)}

    with pytest.raises(drift.DriftError, match="not valid JSON"):
        drift._s3_json(S3(), "b", "r.json", "", "")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=11) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=14,
)
PATHS = st.sampled_from(
    [
        (),
        ("format",),
        ("score",),
        ("score", "counts"),
        ("score", "lower_bounds"),
        ("length_chars", "counts"),
        ("prediction_mix",),
        ("prediction_mix", "billing"),
    ]
)
LINES = as_lines(traffic(300, seed=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=PATHS, value=JSON)
def test_any_reference_is_refused_or_gives_finite_scores(path, value):
    reference = value if path == () else broken(path, value)
    try:
        checked = drift.check_reference(json.loads(json.dumps(reference)), "r")
    except drift.DriftError:
        return
    summary = drift.evaluate_window(checked, LINES, THRESHOLDS, 100)
    assert all(math.isfinite(score) and score >= 0 for score in summary["psi"].values())


def test_a_reference_whose_format_is_true_is_refused():
    """Bad input, round 4: JSON's true equals 1 in Python, so `"format": true` passed as format 1."""
    with pytest.raises(drift.DriftError, match="not a reference of format"):
        drift.check_reference({**copy.deepcopy(REFERENCE), "format": True}, "s3://b/r.json")


@pytest.mark.parametrize(
    "change",
    [{"score": float("nan")}, {"score": float("inf")}, {"score": 5.0}, {"score": -0.1}, {"characters": -3}],
)
def test_a_signal_line_with_an_impossible_score_or_length_is_not_trusted(change):
    """Bad input, round 4: NaN, Infinity, 5.0 or a negative length moved the drift statistic's bins."""
    line = as_lines(traffic(1, seed=3))[0]
    good = json.dumps(line)
    assert drift.parse_signal_line(good) is not None
    assert drift.parse_signal_line(json.dumps({**line, **change})) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARTIFACTS_BUCKET", "a b"),
        ("ARTIFACTS_BUCKET", "s3://x"),
        ("ENDPOINT_NAME", "e_1"),
        ("ENDPOINT_NAME", "-e"),
    ],
)
def test_a_bucket_or_endpoint_name_aws_would_refuse_is_named(monkeypatch, name, value):
    """Bad input, round 5: `ARTIFACTS_BUCKET="a b"` ended in botocore's ParamValidationError."""
    monkeypatch.setenv("ENDPOINT_NAME", "textclf-prod")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "textclf-prod-artifacts")
    monkeypatch.setenv(name, value)
    with pytest.raises(
        drift.DriftError, match=rf"^{name} '.*' is not an? (S3 bucket|SageMaker endpoint) name"
    ):
        drift.settings_from_env()


def test_a_signal_line_nested_past_the_parser_or_with_a_huge_score_is_skipped():
    """Bad input, round 5: RecursionError and OverflowError from lines only the log group's writers
    could put there."""
    line = as_lines(traffic(1, seed=3))[0]
    nested = "[" * 100_000 + "1" + "]" * 100_000
    deep = json.dumps({"kind": drift.SIGNAL_KIND, "x": 0}).replace("0}", nested + "}")
    assert drift.parse_signal_line(deep) is None
    assert drift.parse_signal_line(json.dumps(line).replace(json.dumps(line["score"]), "9" * 400, 1)) is None


@pytest.mark.parametrize("value", ["AWS/SageMaker", ":drift", "drift\x07", "d\u00e9rive", "n" * 256])
def test_a_metrics_namespace_cloudwatch_would_refuse_is_named_before_the_window_is_read(monkeypatch, value):
    """R14C-4: MONITOR_METRICS_NAMESPACE was taken as given; CloudWatch's refusal came at the end, after
    the reference and the whole window were read, and a namespace botocore refuses was reported with
    the advice to check the function's network and credentials."""
    monkeypatch.setenv("ENDPOINT_NAME", "textclf-prod")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "textclf-prod-artifacts")
    monkeypatch.setenv("MONITOR_METRICS_NAMESPACE", value)
    monkeypatch.setattr(drift, "_client", lambda service: pytest.fail(f"a {service} client was made"))
    with pytest.raises(
        drift.DriftError, match=r"^environment variable MONITOR_METRICS_NAMESPACE=.* CloudWatch"
    ):
        drift.handler({}, None)


@pytest.mark.parametrize("value", ["textclf/Drift", "Team Drift/prod-1", "n" * 255])
def test_a_metrics_namespace_cloudwatch_takes_is_used(monkeypatch, value):
    monkeypatch.setenv("ENDPOINT_NAME", "textclf-prod")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "textclf-prod-artifacts")
    monkeypatch.setenv("MONITOR_METRICS_NAMESPACE", value)
    assert drift.settings_from_env()["namespace"] == value


class OneObject:
    """An S3 client whose every object holds `body`."""

    class exceptions:
        NoSuchKey = KeyError

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.read_sizes: list[int | None] = []

    def get_object(self, **_):
        import io

        body = io.BytesIO(self.body)
        real = body.read

        def read(size: int | None = -1) -> bytes:
            self.read_sizes.append(size)
            return real(size)

        body.read = read
        return {"Body": body}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b'{"commit": "abc1234", "commit": "def5678"}', "key 'commit' is given twice"),
        (b"{not json", "not valid JSON (Expecting property name"),
    ],
)
def test_a_deployment_record_that_is_not_one_is_named_with_what_to_do(body, said):
    """R14C-12: an empty production/deployment.json was "not valid JSON (or nested too deeply)",
    naming neither the cause nor what to do; a key given twice took the last value."""
    with pytest.raises(drift.DriftError) as refused:
        drift.live_reference(OneObject(body), "textclf-prod-artifacts")
    message = str(refused.value)
    assert message.startswith("s3://textclf-prod-artifacts/production/deployment.json: ") and said in message
    assert message.endswith("promote the live model again")


def test_an_object_far_larger_than_a_reference_is_not_read_whole():
    s3 = OneObject(b" " * (drift.MAX_OBJECT_BYTES + 10))
    with pytest.raises(drift.DriftError, match=r"is larger than 16,777,216 bytes"):
        drift.live_reference(s3, "textclf-prod-artifacts")
    assert s3.read_sizes == [drift.MAX_OBJECT_BYTES + 1]


@pytest.mark.parametrize("value", ["2_4", "\u0662\u0664", "\uff12\uff14"])
def test_a_setting_in_a_form_only_python_reads_as_a_number_is_refused(monkeypatch, value):
    """R14C-19: float() reads `2_4` as 24 and Arabic-Indic or full-width digits as theirs; Terraform
    writes ASCII digits, so such a value is a hand edit, refused naming it rather than guessed."""
    monkeypatch.setenv("ENDPOINT_NAME", "e")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "bucket-b")
    monkeypatch.setenv("MONITOR_WINDOW_HOURS", value)
    with pytest.raises(drift.DriftError, match=r"MONITOR_WINDOW_HOURS=.*: expected a number in ASCII digits"):
        drift.settings_from_env()
