"""Which grants are in force, and the access policy that lets grantees into documents through them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vault.accounts.trail import AuditTrail
from vault.audit.actions import AuditAction, Outcome
from vault.core.clock import Clock
from vault.core.principal import Caller
from vault.documents.access import Access, Permission
from vault.documents.models import Document
from vault.grants.models import Grant
from vault.grants.schemas import GrantRead

__all__ = ("LONGEST_GRANT", "GrantAccessPolicy", "add_grant", "grant_read", "held_by", "in_force", "permissions_of")

LONGEST_GRANT = timedelta(days=365)
_PERMISSION_COLUMN = {
    Permission.VIEW: Grant.can_view,
    Permission.DOWNLOAD: Grant.can_download,
    Permission.SIGN: Grant.can_sign,
}


def permissions_of(grant: Grant) -> list[str]:
    flags = (("view", grant.can_view), ("download", grant.can_download), ("sign", grant.can_sign))
    return [name for name, allowed in flags if allowed]


def grant_read(grant: Grant, now: datetime) -> GrantRead:
    """The owner's view of a grant."""
    agency = grant.grantee_agency
    return GrantRead(
        id=grant.id,
        document_id=grant.document_id,
        grantee_type="agency" if agency is not None else "person",
        grantee=agency if agency is not None else str(grant.grantee_subject),
        permissions=permissions_of(grant),
        purpose=grant.purpose,
        request_id=grant.request_id,
        created_at=grant.created_at,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
        active=grant.revoked_at is None and grant.expires_at > now,
    )


def held_by(caller: Caller) -> ColumnElement[bool]:
    """Grants whose grantee is the caller: them as a person, or their agency when they act as its officer."""
    as_person = and_(Grant.grantee_subject == caller.subject, Grant.grantee_subject.is_not(None))
    as_agency = Grant.grantee_agency == caller.agency if caller.agency and caller.has_role("agency") else false()
    return and_(Grant.grantee_issuer == caller.issuer, or_(as_person, as_agency))


def in_force(now: datetime) -> ColumnElement[bool]:
    """Grants neither revoked nor expired at `now`."""
    return and_(Grant.revoked_at.is_(None), Grant.expires_at > now)


async def add_grant(session: AsyncSession, trail: AuditTrail, caller: Caller, grant: Grant) -> Grant:
    """Store a grant and its `grant.create` audit entry in the caller's transaction."""
    session.add(grant)
    await session.flush()
    details: dict[str, str | int | bool | None] = {
        "grantee_type": "agency" if grant.grantee_agency else "person",
        "permissions": ",".join(permissions_of(grant)),
        "expires_at": grant.expires_at.isoformat(),
    }
    if grant.grantee_agency:
        details["grantee_agency"] = grant.grantee_agency
    event = await trail.event(
        session,
        AuditAction.GRANT_CREATE,
        Outcome.SUCCESS,
        caller,
        owner_id=grant.owner_id,
        document_id=grant.document_id,
        grant_id=grant.id,
        request_id=grant.request_id,
        purpose=grant.purpose,
        details=details,
    )
    await trail.record(session, event)
    return grant


class GrantAccessPolicy:
    """Non-owners get in through a grant in force for the permission asked (checked on every request)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def non_owner_access(
        self, session: AsyncSession, caller: Caller, document: Document, permission: Permission
    ) -> Access | None:
        """The newest grant in force letting `caller` use `document` for `permission`, as an `Access`."""
        column = _PERMISSION_COLUMN.get(permission)
        if column is None:
            return None
        grant = await session.scalar(
            select(Grant)
            .where(Grant.document_id == document.id, column.is_(True), held_by(caller), in_force(self._clock()))
            .order_by(Grant.created_at.desc())
            .limit(1)
        )
        if grant is None:
            return None
        return Access(as_owner=False, grant_id=grant.id, request_id=grant.request_id, purpose=grant.purpose)
