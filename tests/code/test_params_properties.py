"""params.yaml of any shape: the template with any value put at any key (valid YAML/JSON values of
the wrong type or size, unknown keys, whole sections replaced) is a Params or a ParamsError naming
the file, never another exception."""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT
from textclf import cli
from textclf.config import ParamsError, parse_params

TEMPLATE = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
EVERY = tuple(dict.fromkeys(section for needs in cli.NEEDS.values() for section in needs))


def paths(node: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    return found


PATHS = paths(TEMPLATE)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["", "..", "/abs", "1e999", "nan", "a\x00b", 10**400, -1, 2**64]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=VALUES, drop=st.booleans())
def test_any_value_at_any_key_is_params_or_a_params_error(path, value, drop):
    raw = copy.deepcopy(TEMPLATE)
    node = raw
    for key in path[:-1]:
        node = node[key]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    try:
        parse_params(raw, needs=EVERY)
    except ParamsError as error:
        assert str(error).startswith("params.yaml: ")
