"""What the documents API reads and returns. ORM objects never leave the service layer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from vault.core.fields import Kind

__all__ = ("DocumentPage", "DocumentRead", "NewDocument", "VersionRead")


class VersionRead(msgspec.Struct, frozen=True):
    """One immutable version of a document."""

    id: uuid.UUID
    number: int
    media_type: str
    size: int
    sha256: str
    origin: str
    created_at: datetime


class DocumentRead(msgspec.Struct, frozen=True):
    """A document's metadata; its size, type and hash are the current version's."""

    id: uuid.UUID
    title: str
    kind: str
    media_type: str
    size: int
    sha256: str
    version: int
    versions: int
    issued: bool
    issuer: str | None
    created_at: datetime
    updated_at: datetime
    owned: bool = True
    filename: str | None = None


class DocumentPage(msgspec.Struct, frozen=True):
    """A page of documents, newest first; pass `next_cursor` back as `cursor` for the next page."""

    items: list[DocumentRead]
    next_cursor: str | None


class NewDocument(msgspec.Struct, frozen=True):
    """Metadata of an upload (from headers, query or multipart fields)."""

    title: str
    kind: str
    media_type: str
    filename: str | None = None


class DocumentUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`PATCH /api/v1/documents/{id}`: a new title, a new kind, or both (kinds from the configured vocabulary)."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    kind: Kind | None = None
