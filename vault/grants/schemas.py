"""What the sharing APIs read and return. Bodies forbid unknown fields, so `owner`, `issuer`, `subject` and
friends cannot be smuggled in (mass assignment answers 400)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from vault.core.fields import Name, Text

__all__ = ("GrantPage", "GrantRead", "NewGrant", "PermissionName", "SharedItem", "SharedPage")


PermissionName = Literal["view", "download", "sign"]


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
