"""What the sharing APIs read and return. Bodies forbid unknown fields, so `owner`, `issuer`, `subject` and
friends cannot be smuggled in (mass assignment answers 400)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

__all__ = ("LinkCreated", "LinkLanding", "LinkRead", "NewLink")


class NewLink(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A share link: expiry (at most 30 days ahead), download limit and an optional password."""

    expires_at: datetime
    max_downloads: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)] | None = None


class LinkRead(msgspec.Struct, frozen=True):
    """A share link as its owner sees it (never the token)."""

    id: uuid.UUID
    document_id: uuid.UUID
    max_downloads: int
    downloads: int
    password_protected: bool
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class LinkCreated(msgspec.Struct, frozen=True):
    """A new link. `token` and `url` are shown this once; the vault keeps only a hash of the token."""

    link: LinkRead
    token: str
    url: str


class LinkLanding(msgspec.Struct, frozen=True):
    """What a link holder may know before downloading: looking never uses the link up."""

    title: str
    filename: str | None
    media_type: str
    size: int
    expires_at: datetime
    downloads_left: int
    password_required: bool
    available: bool
