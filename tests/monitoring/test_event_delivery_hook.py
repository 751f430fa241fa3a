"""The local cloud's event-delivery settings hook answers a body that is not a JSON object with a 400
naming what to send, as its sibling hooks do, not an HTML 500 (issue 27, R14B-43)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from textclf.localcloud import eventdelivery


@pytest.mark.parametrize("body", [b"[]", b'"s"', b"[1, 2]", b"not json"])
def test_a_body_that_is_not_an_object_is_a_400(aws_env, local_cloud, body):
    request = urllib.request.Request(
        f"{local_cloud.url}{eventdelivery.CONTROL_PATH}",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400
    assert "error" in json.load(error.value)
