"""Who may do what to a document. The owner may do everything; grants (sharing) extend this."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from vault.core.principal import Caller
from vault.documents.models import Document

__all__ = ("Access", "AccessPolicy", "OwnerOnly", "Permission")


class Permission(StrEnum):
    VIEW = "view"  # metadata
    DOWNLOAD = "download"
    SIGN = "sign"
    MANAGE = "manage"  # new versions, erase, share: owner only


@dataclass(frozen=True)
class Access:
    """Why a caller may touch a document: as its owner, or under a grant (with its purpose)."""

    as_owner: bool
    grant_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    purpose: str | None = None


class AccessPolicy(Protocol):
    async def non_owner_access(
        self, session: AsyncSession, caller: Caller, document: Document, permission: Permission
    ) -> Access | None:
        """The access a non-owner has to `document` for `permission`, or None."""
        ...


class OwnerOnly:
    """No sharing: only owners get in."""

    async def non_owner_access(
        self, session: AsyncSession, caller: Caller, document: Document, permission: Permission
    ) -> Access | None:
        return None
