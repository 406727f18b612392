"""Keyset cursors for sharing listings: (created_at, id), newest first."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql import ColumnElement

from vault.errors import BadRequest

__all__ = ("MAX_PAGE", "after_cursor", "encode_cursor")

MAX_PAGE = 100


def encode_cursor(created_at: datetime, ident: uuid.UUID) -> str:
    """An opaque cursor pointing just after the row (created_at, ident)."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{ident}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|", 1)
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("invalid cursor") from exc


def after_cursor(cursor: str, created_at: Any, ident: Any) -> ColumnElement[bool]:
    """The condition selecting rows older than the cursor (for `ORDER BY created_at DESC, id DESC`)."""
    stamp, last = _decode(cursor)
    return or_(created_at < stamp, and_(created_at == stamp, ident < last))
