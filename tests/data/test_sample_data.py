"""The bundled sample: byte-identical on every machine (data.dvc pins it), balanced, not trivial."""

from __future__ import annotations

import hashlib

import yaml

from textclf.pipeline import sample_data


def test_generated_sample_matches_the_md5_that_data_dvc_pins(repo_root, tmp_path):
    path = sample_data.write_sample(tmp_path / "raw")
    pinned = yaml.safe_load((repo_root / "data.dvc").read_text())["outs"][0]
    assert pinned["path"] == "data/raw" and pinned["nfiles"] == 1
    assert path.stat().st_size == pinned["size"]
    # DVC's directory hash is the md5 of a sorted JSON listing of (md5, relpath) entries.
    file_md5 = hashlib.md5(path.read_bytes()).hexdigest()
    listing = f'[{{"md5": "{file_md5}", "relpath": "messages.csv"}}]'
    assert hashlib.md5(listing.encode()).hexdigest() + ".dir" == pinned["md5"]
    assert sample_data.is_pinned_by(repo_root / "data.dvc")


def test_a_data_dvc_for_other_data_is_not_taken_for_the_sample(tmp_path):
    other = tmp_path / "data.dvc"
    other.write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data/raw\n")
    assert not sample_data.is_pinned_by(other)


def test_sample_is_balanced_and_has_shared_vocabulary():
    rows = sample_data.generate_rows()
    labels = [label for _, label in rows]
    assert len(rows) == 1800
    assert {labels.count(label) for label in set(labels)} == {300}
    # No single keyword separates the classes: the telling words occur under several labels.
    for word in ("refund", "order", "charged", "cancel"):
        carrying = {label for text, label in rows if word in text.lower()}
        assert len(carrying) >= 3, f"{word!r} occurs under {carrying} only"
