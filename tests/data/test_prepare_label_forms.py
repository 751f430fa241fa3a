"""A label of the data that is one of data.labels written with other Unicode characters (R13A-9):
`cafe` + U+0301 (NFD, as macOS tools often write it) against data.labels' `café` (NFC) was "label
'café' is not one of data.labels in params.yaml (café, tea, x)", two names that look the same. Now
the message says which label it is and what differs, as for a presentation selector (R12-10)."""

from __future__ import annotations

from tests.data.test_prepare_messages_round12 import refused, workdir  # noqa: F401 (workdir: the fixture)


def rows(label: str) -> str:
    return "text,label\n" + "".join(f"coffee {n},{label}\ntea {n},tea\n" for n in range(10))


def test_a_label_written_decomposed_names_the_whitelisted_one_and_the_accent(workdir) -> None:  # noqa: F811
    said = refused(workdir, rows("cafe\u0301"), labels=["caf\u00e9", "tea"])

    head, _, why = said.partition("; it is ")
    assert head.endswith("label 'cafe\u0301' is not one of data.labels in params.yaml (caf\u00e9, tea)")
    assert why.startswith("data.labels' 'caf\u00e9' written with other Unicode characters (one holds U+0301 ")
    assert "(COMBINING ACUTE ACCENT) as a separate character after its letter" in why
    assert why.endswith(
        "composed (NFC, an accented letter as one character) as most editors do; fix the row or add the "
        "label there"
    )


def test_a_label_in_neither_form_is_named_as_before(workdir) -> None:  # noqa: F811
    message = refused(workdir, rows("cocoa"), labels=["caf\u00e9", "tea"])
    assert message.endswith(
        "label 'cocoa' is not one of data.labels in params.yaml (caf\u00e9, tea); fix the row or add the "
        "label there"
    )
