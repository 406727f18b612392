"""Documents in queries: loading with versions, ownership, and the owner's keyset-paged listing."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from vault.accounts.models import Account
from vault.core.paging import after_cursor
from vault.core.principal import Caller
from vault.core.repository import Repository
from vault.documents.models import Document, DocumentVersion

__all__ = ("DocumentRepository", "load_with_owner")

# Built once: constructing this statement (the comparison, the outer join, the joined load) cost more CPU than
# running it, on the hot path of every audited read; a bound parameter keeps its compiled form cached too.
_WITH_OWNER = (
    select(Document, Account.issuer, Account.subject)
    .outerjoin(Account, Account.id == Document.owner_id)
    .where(Document.id == bindparam("document_id"))
    .options(joinedload(Document.versions))
)


async def load_with_owner(
    session: AsyncSession, document_id: uuid.UUID
) -> tuple[Document, str | None, str | None] | None:
    """A document with its versions and its owner's issuer and subject, in one query; or None.

    A function, not a repository method: it runs on every audited read, and a repository's construction
    (advanced-alchemy's) cost as much as this query."""
    row = (await session.execute(_WITH_OWNER, {"document_id": document_id})).unique().first()
    return None if row is None else (row[0], row[1], row[2])


class DocumentRepository(Repository[Document]):
    """Documents with their versions (ordered by number)."""

    model_type = Document

    async def load(self, document_id: uuid.UUID) -> Document | None:
        """A document with its versions, or None."""
        return await self.session.scalar(
            select(Document).where(Document.id == document_id).options(selectinload(Document.versions))
        )

    async def owned(self, caller: Caller, document_id: uuid.UUID) -> Document | None:
        """The caller's own document (None for a missing one and for anybody else's)."""
        return await self.session.scalar(
            select(Document)
            .join(Account, Account.id == Document.owner_id)
            .where(Document.id == document_id, Account.issuer == caller.issuer, Account.subject == caller.subject)
        )

    async def page(
        self,
        owner_id: uuid.UUID,
        cursor: str | None,
        limit: int,
        *,
        title: str | None = None,
        kind: str | None = None,
    ) -> list[Document]:
        """Up to `limit + 1` of the owner's documents, newest first, after `cursor`; only those whose title
        contains `title` (any case) and of `kind`, when given."""
        query = (
            select(Document)
            .where(Document.owner_id == owner_id)
            .options(selectinload(Document.versions))
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(limit + 1)
        )
        if cursor:
            query = query.where(after_cursor(cursor, Document.created_at, Document.id))
        if title:
            pattern = "%" + title.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(func.lower(Document.title).like(pattern, escape="\\"))
        if kind:
            query = query.where(Document.kind == kind)
        return list(await self.session.scalars(query))

    async def object_keys_of_owner(self, owner_id: uuid.UUID) -> list[str]:
        """Every object key of every version the owner holds."""
        query = (
            select(DocumentVersion.object_key)
            .join(Document, Document.id == DocumentVersion.document_id)
            .where(Document.owner_id == owner_id)
        )
        return list(await self.session.scalars(query))

    async def count_of_owner(self, owner_id: uuid.UUID) -> int:
        """How many documents the owner holds."""
        query = select(func.count()).select_from(Document).where(Document.owner_id == owner_id)
        return int(await self.session.scalar(query) or 0)
