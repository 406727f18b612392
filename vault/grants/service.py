"""Grants: owners share documents with an agency or a person, list and revoke them; grantees see what is shared."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from vault.accounts.directory import AccountDirectory
from vault.accounts.repository import AccountRepository
from vault.accounts.trail import AuditTrail
from vault.audit.actions import AuditAction, Outcome
from vault.core.clock import Clock, checked_expiry
from vault.core.database import Database
from vault.core.errors import NotFound, UnprocessableContent
from vault.core.paging import after_cursor, clamp_limit, split_page
from vault.core.principal import Caller
from vault.documents.models import Document
from vault.documents.repository import DocumentRepository
from vault.grants.models import Grant
from vault.grants.policy import LONGEST_GRANT, add_grant, grant_read, held_by, in_force, permissions_of
from vault.grants.schemas import GrantPage, GrantRead, NewGrant, SharedItem, SharedPage

__all__ = ("GrantService",)


class GrantService:
    """Creating, listing and revoking grants, and what is shared with a caller."""

    def __init__(self, db: Database, trail: AuditTrail, clock: Clock) -> None:
        self._db = db
        self._trail = trail
        self._clock = clock

    async def create(self, caller: Caller, document_id: uuid.UUID, body: NewGrant) -> GrantRead:
        """Share one of the caller's documents (404 for anybody else's)."""
        if (body.agency is None) == (body.subject is None):
            raise UnprocessableContent("give exactly one grantee: `agency` or `subject`")
        now = self._clock()
        expires_at = checked_expiry(body.expires_at, now, LONGEST_GRANT, "a grant's")
        async with self._db.transaction() as session:
            document = await DocumentRepository(session).owned(caller, document_id)
            if document is None:
                raise NotFound("no such document")
            accounts = AccountRepository(session)
            grantee_subject = None
            if body.subject is not None:
                grantee_subject = (await AccountDirectory.person(accounts, caller.issuer, body.subject)).subject
            if body.agency is not None:
                await AccountDirectory.require_agency(accounts, caller.issuer, body.agency)
            if grantee_subject == caller.subject:
                raise UnprocessableContent("an owner needs no grant to their own document")
            chosen = set(body.permissions)
            grant = Grant(
                id=uuid.uuid4(),
                document_id=document.id,
                owner_id=document.owner_id,
                grantee_issuer=caller.issuer,
                grantee_agency=body.agency,
                grantee_subject=grantee_subject,
                can_view="view" in chosen,
                can_download="download" in chosen,
                can_sign="sign" in chosen,
                purpose=body.purpose,
                created_at=now,
                expires_at=expires_at,
            )
            await add_grant(session, self._trail, caller, grant)
            return grant_read(grant, now)

    async def list_owned(
        self, caller: Caller, document_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> GrantPage:
        """The caller's grants (revoked and expired ones too), newest first; optionally of one document."""
        limit = clamp_limit(limit)
        async with self._db.transaction() as session:
            account = await AccountRepository(session).of(caller)
            if account is None:
                return GrantPage(items=[], next_cursor=None)
            query = select(Grant).where(Grant.owner_id == account.id)
            if document_id is not None:
                query = query.where(Grant.document_id == document_id)
            if cursor:
                query = query.where(after_cursor(cursor, Grant.created_at, Grant.id))
            rows = list(
                await session.scalars(query.order_by(Grant.created_at.desc(), Grant.id.desc()).limit(limit + 1))
            )
        now = self._clock()
        page, next_cursor = split_page(rows, limit, lambda g: (g.created_at, g.id))
        return GrantPage(items=[grant_read(g, now) for g in page], next_cursor=next_cursor)

    async def revoke(self, caller: Caller, grant_id: uuid.UUID) -> None:
        """Revoke one of the caller's grants: the grantee's next request is refused. Idempotent."""
        async with self._db.transaction() as session:
            account = await AccountRepository(session).of(caller)
            grant = None
            if account is not None:
                grant = await session.scalar(select(Grant).where(Grant.id == grant_id, Grant.owner_id == account.id))
            if grant is None:
                raise NotFound("no such grant")
            if grant.revoked_at is not None:
                return
            await session.execute(update(Grant).where(Grant.id == grant.id).values(revoked_at=self._clock()))
            event = await self._trail.event(
                session,
                AuditAction.GRANT_REVOKE,
                Outcome.SUCCESS,
                caller,
                owner_id=grant.owner_id,
                document_id=grant.document_id,
                grant_id=grant.id,
                request_id=grant.request_id,
                purpose=grant.purpose,
            )
            await self._trail.record(session, event)

    async def shared_with(self, caller: Caller, cursor: str | None, limit: int) -> SharedPage:
        """Documents shared with the caller under grants in force, newest grant first."""
        limit = clamp_limit(limit)
        query = (
            select(Grant, Document)
            .join(Document, Document.id == Grant.document_id)
            .where(held_by(caller), in_force(self._clock()))
        )
        if cursor:
            query = query.where(after_cursor(cursor, Grant.created_at, Grant.id))
        query = query.order_by(Grant.created_at.desc(), Grant.id.desc()).limit(limit + 1)
        async with self._db.transaction() as session:
            rows = [(row[0], row[1]) for row in await session.execute(query)]
        page, next_cursor = split_page(rows, limit, lambda pair: (pair[0].created_at, pair[0].id))
        items = [
            SharedItem(
                grant_id=grant.id,
                document_id=grant.document_id,
                permissions=permissions_of(grant),
                purpose=grant.purpose,
                request_id=grant.request_id,
                expires_at=grant.expires_at,
                title=document.title if grant.can_view else None,
                kind=document.kind if grant.can_view else None,
            )
            for grant, document in page
        ]
        return SharedPage(items=items, next_cursor=next_cursor)
