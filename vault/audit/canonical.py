"""RFC 8785 (JCS) canonical JSON, fast for what audit records hold.

`rfc8785.dumps` is pure Python and runs twice per audit entry (queued, then sequenced), on every audited request.
For values made only of dicts with BMP-only string keys, lists, strings, booleans, None and integers within
±(2^53 - 1), the standard library's C encoder with sorted keys, no whitespace and no ASCII escaping writes exactly
the RFC 8785 bytes:
- keys: RFC 8785 orders them by UTF-16 code units, Python by code points; the two orders agree unless a key holds
  a character beyond U+FFFF (such values take the slow path);
- strings: both escape only `"`, `\\` and the controls below U+0020, with the same short forms (`\\b \\f \\n \\r
  \\t`) and lowercase `\\u00xx` otherwise, and write everything else as UTF-8;
- integers in that range print alike; floats (ECMAScript number formatting) take the slow path.
Anything else (floats, other types, lone surrogates, larger integers) goes to `rfc8785.dumps`, which also raises
the errors callers expect. A property test holds the two to the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

__all__ = ("canonical_json",)

_MAX_SAFE_INT = 2**53 - 1
_BMP_MAX = "\uffff"
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical bytes of `value` (raises like `rfc8785.dumps` for what RFC 8785 cannot encode)."""
    if _plain(value):
        try:
            return _encode(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 decide and raise its own error
            pass
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if kind is dict:
        return all(
            type(key) is str and (key.isascii() or all(c <= _BMP_MAX for c in key)) and _plain(item)
            for key, item in value.items()
        )
    if kind is list:
        return all(_plain(item) for item in value)
    return False
