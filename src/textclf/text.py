"""Text normalisation shared by training (the prepare stage) and serving: no train/serve skew;
and what a label (a class name) must not be, shared by the prepare stage and params.yaml.

Standard library only, so the server imports it without pandas, torch or the pipeline.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# C0 controls other than tab/newline/carriage return, DEL, zero-width space and the BOM.
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b\ufeff]")


# What shows as nothing on its own: controls, format characters (Cf: the zero-width joiner U+200D,
# the word joiner U+2060, the soft hyphen U+00AD, bidirectional marks, tag characters), combining
# marks with no letter to sit on (Mn, Me), separators, and the blanks of LABEL_REFUSED_BLANKS.
_SHOWS_NOTHING = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"})


# A UTF-16 surrogate on its own: JSON's `\\ud800` decodes to one, and no tokenizer or UTF-8 writer
# takes it (searched by a regular expression: a data set's worth of characters in C).
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value: str) -> str | None:
    """The first lone surrogate in `value`, or None: prepare refuses one in a raw row, train and
    evaluate in a prepared split (a tokenizer's TypeError, datasets' UnicodeEncodeError: R14A-9)."""
    found = _SURROGATE.search(value)
    return found.group(0) if found else None


def normalise(text: str) -> str:
    """One canonical form per message: NFC unicode, no control characters, single spaces; and ""
    for a text with nothing visible in it (a lone U+200D was classified by the server and kept as a
    training row, where a lone U+200B was empty: R13B-9), so that every reader's empty-text rule
    (prepare's data.empty_text, the server's and batch-predict's 400) takes it as empty."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    return text if any(map(_shows, text)) else ""


def _shows(character: str) -> bool:
    return (
        unicodedata.category(character) not in _SHOWS_NOTHING and ord(character) not in LABEL_REFUSED_BLANKS
    )


# What a label must not hold: it becomes a class name in labels.json, the summary, the report and
# the PR comment. Control characters (Cc: an ESC sequence recolours a terminal), invisible format
# characters and bidirectional controls (Cf: U+200B hides, U+202E shows a name in another order
# than it is) and line or paragraph separators (Zl, Zp: U+2028 breaks a line in a table cell).
LABEL_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# And the characters that show as nothing outside those categories: Unicode's default-ignorable code
# points that are marks or letters (DerivedCoreProperties.txt, Default_Ignorable_Code_Point: the
# combining grapheme joiner U+034F, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, Khmer's
# inherent vowels U+17B4, U+17B5, Mongolian's variation selectors U+180B-U+180D, U+180F, the variation
# selectors U+FE00-U+FE0F and U+E0100-U+E01EF), and the blank braille pattern U+2800: `billing` with
# one of them was a second class that reads as `billing`, or a class name that shows as nothing.
LABEL_REFUSED_BLANKS = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164, 0xFFA0}
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)


# And markup that ends or re-opens an HTML script element: `dvc plots` writes each chart's data
# into the page as `<script> var spec = {...} </script>` (dvc-render), JSON leaves `</script>` as
# it is, and the HTML parser ends the script at `</` + `script` in any case, then runs what follows
# (HTML Living Standard, "script data state"; `<!--` and `<script` change how it looks for the end).
# The PR workflow uploads that page for reviewers. `<` alone stays allowed (`<=50K` is a class).
LABEL_REFUSED_MARKUP = re.compile(r"</|<!--|<script", re.IGNORECASE)
# And a start a spreadsheet runs as a formula (OWASP "CSV Injection": = + - @): labels are cells of
# plots/confusion.csv and plots/heldout_probabilities.csv (git-tracked, in the PR's diff and
# artifacts). `=` and `@` are refused; `+` and `-` only when more than a word or number follows
# (`-1`, `+ve` and `-0.5` stay classes; `-HYPERLINK(...)` and `+cmd|...` are formulas).
LABEL_REFUSED_FORMULA = re.compile(r"[=@]|[+-](?![\w .]*$)")
# And `##[`, which GitHub's runner reads anywhere in a log line as a workflow command (actions/runner,
# ActionCommand's legacy prefix "##["): a label printed in a CI job's log could add an error
# annotation, mask later lines (`##[add-mask]`) or stop command processing.
LABEL_REFUSED_COMMAND = "##["


# And a label that mixes Latin, Greek and Cyrillic letters: their look-alikes (Cyrillic і, Greek Β)
# make `bіlling` a second class that reads as `billing` (Unicode TR 39, "mixed-script confusables").
# A label in one of these scripts, or mixing others (Japanese kana and kanji), stays allowed.
CONFUSABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def _mixed_script_letter(label: str) -> str | None:
    """The first letter of `label` outside its main script, when it mixes CONFUSABLE_SCRIPTS: the
    look-alike (`і` in `bіlling`, `Β` in `Βeta`), which the message names."""
    scripts = {
        character: script
        for character in label
        if character.isalpha()
        and (script := unicodedata.name(character, "").split(" ", 1)[0]) in CONFUSABLE_SCRIPTS
    }
    counts = Counter(scripts[character] for character in label if character in scripts)
    if len(counts) < 2:
        return None
    main = counts.most_common(1)[0][0]
    return next(character for character in label if scripts.get(character, main) != main)


def hidden_label_character(label: str) -> str | None:
    """The first character of `label` that a class name must not hold, or None: an invisible or
    control character, the `<` of markup that would end a script element in the plots page, the `#`
    of a GitHub workflow command (`##[`), the first character of a spreadsheet formula, or a letter
    of another script than the label's first among Latin, Greek and Cyrillic. The prepare stage
    refuses such a label in the data, params.yaml's data.labels refuses it too."""
    hidden = next(
        (
            c
            for c in label
            if unicodedata.category(c) in LABEL_REFUSED_CATEGORIES or ord(c) in LABEL_REFUSED_BLANKS
        ),
        None,
    )
    if hidden is None and LABEL_REFUSED_MARKUP.search(label):
        return "<"
    if hidden is None and LABEL_REFUSED_COMMAND in label:
        return "#"
    if hidden is None and LABEL_REFUSED_FORMULA.match(label):
        return label[0]
    return hidden if hidden is not None else _mixed_script_letter(label)


def character_name(character: str) -> str:
    """`U+200B (ZERO WIDTH SPACE)`: a character as a message names it (most are invisible)."""
    return f"U+{ord(character):04X} ({unicodedata.name(character, 'a control character')})"


def composed_twins(names: list[str]) -> tuple[str, str] | None:
    """The first two of `names` that are the same text in Unicode's composed form (NFC: `café` typed
    with é or with e and a combining accent), which look the same everywhere; None when none are."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(unicodedata.normalize("NFC", name), name)
        if other != name:
            return other, name
    return None
