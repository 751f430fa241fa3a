"""bench/label_errors.py in its small mode: runs to the end and writes before and after figures."""

from __future__ import annotations

import json

from tests.bench.test_bench_small import run_bench


def test_label_errors_small_measures_before_and_after_on_clean_and_flipped_labels(tmp_path):
    out = tmp_path / "label_errors.json"

    done = run_bench("label_errors.py", "--small", "--out", str(out), cwd=tmp_path, timeout=120)

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["small"] is True
    sample = result["datasets"]["bundled sample"]
    assert list(sample["summary"]) == ["0.00", "0.10"]
    clean, flipped = sample["summary"]["0.00"], sample["summary"]["0.10"]
    for when in ("before", "after"):
        assert 0 <= clean[when]["flag_rate"] <= 1 and clean[when]["precision"] is None
        assert 0 <= flipped[when]["precision"] <= 1 and 0 <= flipped[when]["recall"] <= 1
    assert all(run["flipped"] == 0 for run in sample["runs"] if run["share"] == 0)
    assert "before -> after" in done.stdout
