"""The training image's launcher with a resourceconfig.json it cannot use (issue 27, round 8): it
ended in a traceback and wrote no /opt/ml/output/failure, so the job's FailureReason stayed empty;
`"hosts": "algo-1"` (a string) matched current_host 'algo' as a substring."""

from __future__ import annotations

import pytest

from textclf.training import job_launcher


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{", "not JSON"),
        ("[]", "expected"),
        ('{"current_host": "algo", "hosts": "algo-1"}', "expected"),
        ('{"current_host": "algo-1", "hosts": []}', "expected"),
        ('{"current_host": "x", "hosts": ["algo-1"]}', "current_host 'x' is not among hosts"),
        (b"\xff", "not JSON"),
    ],
)
def test_a_resource_config_it_cannot_use_fails_the_job_with_a_reason(
    tmp_path, monkeypatch, capsys, content, said
):
    config = tmp_path / "config"
    config.mkdir()
    path = config / "resourceconfig.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for key in ("TEXTCLF_DATASET_MD5", "TEXTCLF_DATASET_LISTING"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SM_INPUT_CONFIG_DIR", str(config))
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path / "output"))

    with pytest.raises(SystemExit) as stopped:
        job_launcher.main()

    assert stopped.value.code == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("ResourceConfigError: ") and said in failure and str(path) in failure
    assert said in capsys.readouterr().err


def test_a_cluster_description_is_read():
    assert job_launcher.launch_command({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}, 0, "py")[
        :4
    ] == ["py", "-m", "torch.distributed.run", "--nnodes=2"]
