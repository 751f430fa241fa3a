"""Text normalisation shared by training (the prepare stage) and serving: no train/serve skew.

Standard library only, so the server imports it without pandas, torch or the pipeline.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls other than tab/newline/carriage return, DEL, zero-width space and the BOM.
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b\ufeff]")


def normalise(text: str) -> str:
    """One canonical form per message: NFC unicode, no control characters, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())
