"""What the sharing APIs read and return. Bodies forbid unknown fields, so `owner`, `issuer`, `subject` and
friends cannot be smuggled in (mass assignment answers 400)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = (
    "AccessLogEntry",
    "AccessLogPage",
    "ApproveRequest",
    "GrantPage",
    "GrantRead",
    "LinkCreated",
    "LinkRead",
    "NewGrant",
    "NewLink",
    "NewRequest",
    "PermissionName",
    "RequestPage",
    "RequestRead",
    "SharedItem",
    "SharedPage",
)

PermissionName = Literal["view", "download", "sign"]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
Kind = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class NewGrant(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Share a document with an agency (all its officers) or a person of the same identity provider.

    Give exactly one of `agency` and `subject`. `expires_at` is required, timezone-aware, at most a year ahead.
    """

    permissions: Annotated[list[PermissionName], msgspec.Meta(min_length=1, max_length=3)]
    expires_at: datetime
    agency: Name | None = None
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    purpose: Text | None = None


class GrantRead(msgspec.Struct, frozen=True):
    """A grant as its owner sees it."""

    id: uuid.UUID
    document_id: uuid.UUID
    grantee_type: Literal["agency", "person"]
    grantee: str
    permissions: list[str]
    purpose: str | None
    request_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool


class GrantPage(msgspec.Struct, frozen=True):
    """A page of grants, newest first."""

    items: list[GrantRead]
    next_cursor: str | None


class SharedItem(msgspec.Struct, frozen=True):
    """A document shared with the caller (an active grant)."""

    grant_id: uuid.UUID
    document_id: uuid.UUID
    permissions: list[str]
    purpose: str | None
    request_id: uuid.UUID | None
    expires_at: datetime
    title: str | None
    kind: str | None


class SharedPage(msgspec.Struct, frozen=True):
    """Documents shared with the caller, newest grant first."""

    items: list[SharedItem]
    next_cursor: str | None


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


class AccessActor(msgspec.Struct, frozen=True):
    """Who acted: a person (subject), in a role, for an agency if an officer; all None for a link holder."""

    subject: str | None
    role: str | None
    agency: str | None


class AccessLogEntry(msgspec.Struct, frozen=True):
    """One audit entry touching the caller's data."""

    seq: int
    time: datetime
    action: str
    outcome: str
    actor: AccessActor
    document_id: str | None
    grant_id: str | None
    request_id: str | None
    link_id: str | None
    purpose: str | None


class AccessLogPage(msgspec.Struct, frozen=True):
    """Entries newest first; pass `next_cursor` back as `cursor` (a sequence number) for older ones."""

    items: list[AccessLogEntry]
    next_cursor: int | None
