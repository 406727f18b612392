"""The fast canonical JSON writes exactly what `rfc8785.dumps` writes, and fails where it fails."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.audit.canonical import canonical_json

# every code point, surrogates included (lone surrogates cannot be encoded: both must refuse them)
_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=24
)


def _outcome(encode: Any, value: Any) -> bytes | type[BaseException]:
    try:
        return encode(value)  # type: ignore[no-any-return]
    except Exception as exc:
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(_values)
def test_the_same_bytes_or_the_same_error_as_rfc8785(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\uffff": 2, "a": 3},  # UTF-16 order puts the astral key before U+FFFF
        {"s": '\x00\x1f\x7f\b\f\n\r\t"\\/\u2028\u2029é\U0001f600'},
        {"n": 2**53 - 1, "m": -(2**53) + 1, "t": True, "f": False, "z": None, "l": [1, [2, {}], []]},
        {"f": 1.5, "e": 1e21, "s": 5e-324},
    ],
)
def test_edge_cases_match_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [{"big": 2**53}, {"s": "\ud800"}, {"f": float("nan")}, {1: "non-string key"}])
def test_what_rfc8785_refuses_is_refused(value: Any) -> None:
    with pytest.raises(Exception) as ours:
        canonical_json(value)
    with pytest.raises(Exception) as theirs:
        rfc8785.dumps(value)
    assert ours.type is theirs.type
