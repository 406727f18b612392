"""Keyset pagination, newest first by (created_at, id): one opaque, validated cursor format for every listing."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, or_
from sqlalchemy.sql import ColumnElement

from vault.core.errors import BadRequest

__all__ = ("DEFAULT_PAGE", "MAX_PAGE", "after_cursor", "clamp_limit", "encode_cursor", "split_page")

MAX_PAGE = 100
DEFAULT_PAGE = 50
_MAX_CURSOR_CHARS = 128
T = TypeVar("T")


def clamp_limit(limit: int) -> int:
    """A page size within 1..MAX_PAGE."""
    return max(1, min(limit, MAX_PAGE))


def encode_cursor(created_at: datetime, ident: uuid.UUID) -> str:
    """An opaque cursor pointing just after the row (created_at, ident)."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{ident}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The cursor's position; any cursor this module did not make is a 400."""
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise BadRequest("invalid cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|", 1)
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            raise ValueError("naive cursor time")
        return moment, uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError) as exc:
        raise BadRequest("invalid cursor") from exc


def after_cursor(cursor: str, created_at: Any, ident: Any) -> ColumnElement[bool]:
    """The condition selecting rows older than the cursor (for `ORDER BY created_at DESC, id DESC`)."""
    stamp, last = _decode(cursor)
    return or_(created_at < stamp, and_(created_at == stamp, ident < last))


def split_page(
    rows: Sequence[T], limit: int, position: Callable[[T], tuple[datetime, uuid.UUID]]
) -> tuple[list[T], str | None]:
    """The first `limit` of `limit + 1` fetched rows and the cursor to the next page (None on the last)."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    return page, encode_cursor(*position(page[-1]))
