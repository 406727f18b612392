"""Field types that request bodies of several domains share (lengths and patterns defined once)."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ("Kind", "Name", "Text")

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
Kind = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
