"""Grants: owners share documents with an agency or a person; the access policy that honours them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vault.database import Database
from vault.documents.access import Access, Permission
from vault.documents.models import Document
from vault.documents.service import DocumentService
from vault.errors import NotFound, UnprocessableContent
from vault.events import EventRecorder
from vault.principal import Caller
from vault.sharing.expiry import Clock, checked_expiry, utcnow
from vault.sharing.models import Grant
from vault.sharing.ownership import caller_account, owned_document
from vault.sharing.paging import MAX_PAGE, after_cursor, encode_cursor
from vault.sharing.schemas import GrantPage, GrantRead, NewGrant, SharedItem, SharedPage

__all__ = ("LONGEST_GRANT", "GrantAccessPolicy", "GrantService", "add_grant", "grant_read", "held_by", "in_force")

LONGEST_GRANT = timedelta(days=365)
_PERMISSION_COLUMN = {
    Permission.VIEW: Grant.can_view,
    Permission.DOWNLOAD: Grant.can_download,
    Permission.SIGN: Grant.can_sign,
}


def _permissions(grant: Grant) -> list[str]:
    flags = (("view", grant.can_view), ("download", grant.can_download), ("sign", grant.can_sign))
    return [name for name, allowed in flags if allowed]


def _is_active(grant: Grant, now: datetime) -> bool:
    return grant.revoked_at is None and grant.expires_at > now


def grant_read(grant: Grant, now: datetime) -> GrantRead:
    """The owner's view of a grant."""
    agency = grant.grantee_agency
    return GrantRead(
        id=grant.id,
        document_id=grant.document_id,
        grantee_type="agency" if agency is not None else "person",
        grantee=agency if agency is not None else str(grant.grantee_subject),
        permissions=_permissions(grant),
        purpose=grant.purpose,
        request_id=grant.request_id,
        created_at=grant.created_at,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
        active=_is_active(grant, now),
    )


def held_by(caller: Caller) -> ColumnElement[bool]:
    """Grants whose grantee is the caller: them as a person, or their agency when they act as its officer."""
    as_person = and_(Grant.grantee_subject == caller.subject, Grant.grantee_subject.is_not(None))
    as_agency = Grant.grantee_agency == caller.agency if caller.agency and caller.has_role("agency") else false()
    return and_(Grant.grantee_issuer == caller.issuer, or_(as_person, as_agency))


def in_force(now: datetime) -> ColumnElement[bool]:
    """Grants neither revoked nor expired at `now`."""
    return and_(Grant.revoked_at.is_(None), Grant.expires_at > now)


async def add_grant(
    session: AsyncSession,
    events: EventRecorder,
    caller: Caller,
    document: Document,
    owner_ref: str,
    grant: Grant,
) -> Grant:
    """Store a grant for `document` and its `grant.create` audit entry in the caller's transaction."""
    session.add(grant)
    await session.flush()
    details: dict[str, str | int | bool | None] = {
        "grantee_type": "agency" if grant.grantee_agency else "person",
        "permissions": ",".join(_permissions(grant)),
        "expires_at": grant.expires_at.isoformat(),
    }
    if grant.grantee_agency:
        details["grantee_agency"] = grant.grantee_agency
    await events.append(
        session,
        events.event(
            "grant.create",
            "success",
            caller,
            owner_ref=owner_ref,
            document_id=document.id,
            grant_id=grant.id,
            request_id=grant.request_id,
            purpose=grant.purpose,
            details=details,
        ),
    )
    return grant


class GrantAccessPolicy:
    """Non-owners get in through a grant in force for the permission asked (checked on every request)."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock

    async def non_owner_access(
        self, session: AsyncSession, caller: Caller, document: Document, permission: Permission
    ) -> Access | None:
        """The newest grant in force letting `caller` use `document` for `permission`, as an `Access`."""
        column = _PERMISSION_COLUMN.get(permission)
        if column is None:
            return None
        grant = await session.scalar(
            select(Grant)
            .where(Grant.document_id == document.id, column.is_(True), held_by(caller), in_force(self.clock()))
            .order_by(Grant.created_at.desc())
            .limit(1)
        )
        if grant is None:
            return None
        return Access(as_owner=False, grant_id=grant.id, request_id=grant.request_id, purpose=grant.purpose)


class GrantService:
    """Creating, listing and revoking grants, and what is shared with a caller."""

    def __init__(self, db: Database, documents: DocumentService, events: EventRecorder, clock: Clock = utcnow) -> None:
        self._db = db
        self._documents = documents
        self._events = events
        self.clock = clock

    async def create(self, caller: Caller, document_id: uuid.UUID, body: NewGrant) -> GrantRead:
        """Share one of the caller's documents (404 for anybody else's)."""
        if (body.agency is None) == (body.subject is None):
            raise UnprocessableContent("give exactly one grantee: `agency` or `subject`")
        now = self.clock()
        expires_at = checked_expiry(body.expires_at, now, LONGEST_GRANT, "a grant's")
        async with self._db.transaction() as session:
            document = await owned_document(session, caller, document_id)
            if body.subject == caller.subject:
                raise UnprocessableContent("an owner needs no grant to their own document")
            chosen = set(body.permissions)
            grant = Grant(
                id=uuid.uuid4(),
                document_id=document.id,
                owner_id=document.owner_id,
                grantee_issuer=caller.issuer,
                grantee_agency=body.agency,
                grantee_subject=body.subject,
                can_view="view" in chosen,
                can_download="download" in chosen,
                can_sign="sign" in chosen,
                purpose=body.purpose,
                created_at=now,
                expires_at=expires_at,
            )
            owner_ref = await self._documents.owner_ref(session, document.owner_id)
            await add_grant(session, self._events, caller, document, owner_ref, grant)
            return grant_read(grant, now)

    async def list_owned(
        self, caller: Caller, document_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> GrantPage:
        """The caller's grants (revoked and expired ones too), newest first; optionally of one document."""
        limit = max(1, min(limit, MAX_PAGE))
        async with self._db.transaction() as session:
            account = await caller_account(session, caller)
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
        now = self.clock()
        more, rows = len(rows) > limit, rows[:limit]
        return GrantPage(
            items=[grant_read(g, now) for g in rows],
            next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
        )

    async def revoke(self, caller: Caller, grant_id: uuid.UUID) -> None:
        """Revoke one of the caller's grants: the grantee's next request is refused. Idempotent."""
        async with self._db.transaction() as session:
            account = await caller_account(session, caller)
            grant = None
            if account is not None:
                grant = await session.scalar(select(Grant).where(Grant.id == grant_id, Grant.owner_id == account.id))
            if grant is None:
                raise NotFound("no such grant")
            if grant.revoked_at is not None:
                return
            await session.execute(update(Grant).where(Grant.id == grant.id).values(revoked_at=self.clock()))
            await self._events.append(
                session,
                self._events.event(
                    "grant.revoke",
                    "success",
                    caller,
                    owner_ref=await self._documents.owner_ref(session, grant.owner_id),
                    document_id=grant.document_id,
                    grant_id=grant.id,
                    request_id=grant.request_id,
                    purpose=grant.purpose,
                ),
            )

    async def shared_with(self, caller: Caller, cursor: str | None, limit: int) -> SharedPage:
        """Documents shared with the caller under grants in force, newest grant first."""
        limit = max(1, min(limit, MAX_PAGE))
        now = self.clock()
        query = (
            select(Grant, Document)
            .join(Document, Document.id == Grant.document_id)
            .where(held_by(caller), in_force(now))
        )
        if cursor:
            query = query.where(after_cursor(cursor, Grant.created_at, Grant.id))
        query = query.order_by(Grant.created_at.desc(), Grant.id.desc()).limit(limit + 1)
        async with self._db.transaction() as session:
            rows = [(row[0], row[1]) for row in await session.execute(query)]
        more, rows = len(rows) > limit, rows[:limit]
        items = [
            SharedItem(
                grant_id=grant.id,
                document_id=grant.document_id,
                permissions=_permissions(grant),
                purpose=grant.purpose,
                request_id=grant.request_id,
                expires_at=grant.expires_at,
                title=document.title if grant.can_view else None,
                kind=document.kind if grant.can_view else None,
            )
            for grant, document in rows
        ]
        last = rows[-1][0] if rows else None
        return SharedPage(items=items, next_cursor=encode_cursor(last.created_at, last.id) if more and last else None)
