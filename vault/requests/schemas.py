"""What the sharing APIs read and return. Bodies forbid unknown fields, so `owner`, `issuer`, `subject` and
friends cannot be smuggled in (mass assignment answers 400)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from vault.core.fields import Kind, Text

__all__ = ("ApproveRequest", "NewRequest", "RequestPage", "RequestRead")


class NewRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An agency's request to a citizen (by subject, same identity provider) for documents of some kinds."""

    citizen: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    kinds: Annotated[list[Kind], msgspec.Meta(min_length=1, max_length=10)]
    purpose: Text
    legal_basis: Text
    expires_at: datetime


class ApproveRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The documents the citizen chooses to share (may be empty: nothing to share)."""

    documents: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)]


class RequestRead(msgspec.Struct, frozen=True):
    """A request. Citizens see `pending`/`approved`/`denied`/`expired`; agencies see `open`/`closed`/`expired`
    and, in `documents`, what is currently shared under it: a denial and an approval with nothing to share
    look the same to them."""

    id: uuid.UUID
    agency: str
    citizen: str
    kinds: list[str]
    purpose: str
    legal_basis: str
    status: str
    created_at: datetime
    expires_at: datetime
    documents: list[uuid.UUID]


class RequestPage(msgspec.Struct, frozen=True):
    """A page of requests, newest first."""

    items: list[RequestRead]
    next_cursor: str | None
