"""Ownership in queries: the caller's account and the documents it owns (others' are simply not found)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vault.accounts.models import Account
from vault.documents.models import Document
from vault.errors import NotFound
from vault.principal import Caller

__all__ = ("caller_account", "owned_document")


async def caller_account(session: AsyncSession, caller: Caller) -> Account | None:
    """The caller's account, or None if the vault has never seen them."""
    return await session.scalar(
        select(Account).where(Account.issuer == caller.issuer, Account.subject == caller.subject)
    )


async def owned_document(session: AsyncSession, caller: Caller, document_id: uuid.UUID) -> Document:
    """The caller's own document; 404 for a missing one and for anybody else's."""
    document = await session.scalar(
        select(Document)
        .join(Account, Account.id == Document.owner_id)
        .where(Document.id == document_id, Account.issuer == caller.issuer, Account.subject == caller.subject)
    )
    if document is None:
        raise NotFound("no such document")
    return document
