"""The local cloud's clock: real time plus an offset a test can advance.

Session credentials expire on it (`iam.py`: a call signed with a session past its `Expiration` is
refused with ExpiredToken, as AWS does), and the global keys `aws:CurrentTime` and `aws:EpochTime`
read it. Advancing it lets a test play a job that outlives its session in a moment instead of an
hour. Nothing else reads it: alarms and endpoints keep real time.

In the process that runs the local cloud, `advance(seconds)`; from another process, POST
`{"advance_seconds": N}` to /moto-api/textclf/clock (GET: `{"now": ..., "offset_seconds": ...}`),
or `advance_remote(url, seconds)`. moto's reset sets the offset back to 0.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.request
from typing import Any

CONTROL_PATH = "/moto-api/textclf/clock"
_lock = threading.Lock()
_offset = 0.0


def now() -> float:
    """Seconds since the epoch on the local cloud's clock."""
    return time.time() + _offset


def offset() -> float:
    return _offset


# At most a year at a time: enough for any session or job a test plays (12 h sessions, days of a
# training wait); NaN, an infinity or 1e400 left the offset non-finite and every signed call a 500.
MAX_ADVANCE_SECONDS = 366 * 86_400


def advance(seconds: float) -> float:
    """Move the clock forward (never back: AWS's time does not run backwards); returns now()."""
    global _offset
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_ADVANCE_SECONDS:
        raise ValueError(
            f"advance_seconds must be a number of seconds from 0 to {MAX_ADVANCE_SECONDS} (the local cloud's "
            f"clock only moves forward, at most a year at a time), not {seconds}"
        )
    with _lock:
        _offset += seconds
    return now()


def reset() -> None:
    global _offset
    with _lock:
        _offset = 0.0


def advance_remote(cloud_url: str, seconds: float) -> dict[str, float]:
    """Advance the clock of the local cloud at `cloud_url` (another process's)."""
    request = urllib.request.Request(
        cloud_url.rstrip("/") + CONTROL_PATH,
        data=json.dumps({"advance_seconds": seconds}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """GET: the clock. POST {"advance_seconds": N}: move it forward by N seconds."""
    if request.method == "POST":
        try:
            changes = json.loads(request.data or b"{}")
            if not isinstance(changes, dict):
                raise ValueError('send an object: {"advance_seconds": N}')
            unknown = set(changes) - {"advance_seconds"}
            if unknown:
                raise ValueError(f"unknown settings {sorted(unknown)}; known: ['advance_seconds']")
            seconds = changes.get("advance_seconds", 0)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise ValueError(f"advance_seconds must be a number, not {json.dumps(seconds)[:40]}")
            advance(float(seconds))
        except (ValueError, TypeError, OverflowError) as error:
            return 400, {"Content-Type": "application/json"}, json.dumps({"error": str(error)})
    body = {"now": now(), "offset_seconds": offset()}
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def install() -> None:
    from moto.moto_api._internal import urls as moto_api_urls
    from moto.moto_api._internal.models import MotoAPIBackend

    original_reset = MotoAPIBackend.reset

    def reset_with_clock(self: Any) -> None:
        original_reset(self)
        reset()

    MotoAPIBackend.reset = reset_with_clock
    moto_api_urls.url_paths["{0}" + CONTROL_PATH] = control
