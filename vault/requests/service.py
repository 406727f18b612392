"""Agency requests: an agency asks a citizen for documents of some kinds, for a purpose and until an expiry;
the citizen approves with chosen documents (grants to the agency, view + download, the request's purpose and
expiry) or denies. To the agency a denial is indistinguishable from an approval with nothing to share."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from vault.accounts.directory import AccountDirectory
from vault.accounts.keys import KeyService
from vault.accounts.models import Account
from vault.accounts.repository import AccountRepository
from vault.accounts.trail import AuditTrail, Detail
from vault.audit.actions import AuditAction, Outcome
from vault.core.clock import Clock, checked_expiry
from vault.core.database import Database
from vault.core.errors import Conflict, Forbidden, Gone, NotFound, UnprocessableContent
from vault.core.paging import after_cursor, clamp_limit, split_page
from vault.core.principal import Caller
from vault.documents.models import Document
from vault.grants.models import Grant
from vault.grants.policy import add_grant, in_force
from vault.requests.models import AgencyRequest
from vault.requests.schemas import ApproveRequest, NewRequest, RequestPage, RequestRead

__all__ = ("LONGEST_REQUEST", "RequestService")

LONGEST_REQUEST = timedelta(days=365)


def _citizen_status(request: AgencyRequest, now: datetime) -> str:
    if request.status == "pending" and request.expires_at <= now:
        return "expired"
    return request.status


def _agency_status(request: AgencyRequest, now: datetime) -> str:
    """Approved and denied both read `closed`: the agency learns what is shared, not why."""
    status = _citizen_status(request, now)
    return "open" if status == "pending" else "expired" if status == "expired" else "closed"


class RequestService:
    """The lifecycle of agency requests."""

    def __init__(
        self,
        db: Database,
        keys: KeyService,
        trail: AuditTrail,
        clock: Clock,
        kinds: frozenset[str] | None = None,
    ) -> None:
        self._db = db
        self._kinds = kinds
        self._keys = keys
        self._trail = trail
        self.clock = clock

    async def create(self, caller: Caller, body: NewRequest) -> RequestRead:
        """An agency officer asks a citizen (same identity provider) for documents."""
        if not caller.agency:
            raise Forbidden("only an officer acting for an agency can request documents")
        unknown = sorted(set(body.kinds) - self._kinds) if self._kinds is not None else []
        if unknown:
            raise UnprocessableContent(f"unknown kinds {', '.join(unknown)}; use kinds of the configured vocabulary")
        now = self.clock()
        expires_at = checked_expiry(body.expires_at, now, LONGEST_REQUEST, "a request's")
        async with self._db.transaction() as session:
            citizen = await AccountDirectory.person(AccountRepository(session), caller.issuer, body.citizen)
            await self._keys.current_subject_key(session, citizen.id)  # the owner pseudonym needs it
            request = AgencyRequest(
                id=uuid.uuid4(),
                issuer=caller.issuer,
                agency=caller.agency,
                requester_subject=caller.subject,
                citizen_id=citizen.id,
                kinds=",".join(dict.fromkeys(body.kinds)),
                purpose=body.purpose,
                legal_basis=body.legal_basis,
                status="pending",
                created_at=now,
                expires_at=expires_at,
            )
            session.add(request)
            await session.flush()
            await self._audit(
                session,
                AuditAction.REQUEST_CREATE,
                caller,
                request,
                {
                    "kinds": request.kinds[:256],
                    "legal_basis": request.legal_basis,
                    "expires_at": expires_at.isoformat(),
                },
            )
            return self._read(request, citizen.subject, now, as_agency=True, documents=[])

    async def list_for(self, caller: Caller, cursor: str | None, limit: int) -> RequestPage:
        """Agency officers: their agency's requests; citizens: requests addressed to them. Newest first."""
        limit = clamp_limit(limit)
        as_agency = caller.has_role("agency") and bool(caller.agency)
        now = self.clock()
        async with self._db.transaction() as session:
            if as_agency:
                where: ColumnElement[bool] = and_(
                    AgencyRequest.issuer == caller.issuer, AgencyRequest.agency == caller.agency
                )
            else:
                account = await AccountRepository(session).of(caller)
                if account is None:
                    return RequestPage(items=[], next_cursor=None)
                where = AgencyRequest.citizen_id == account.id
            query = select(AgencyRequest, Account.subject).join(Account, Account.id == AgencyRequest.citizen_id)
            query = query.where(where)
            if cursor:
                query = query.where(after_cursor(cursor, AgencyRequest.created_at, AgencyRequest.id))
            query = query.order_by(AgencyRequest.created_at.desc(), AgencyRequest.id.desc()).limit(limit + 1)
            rows = [(row[0], row[1]) for row in await session.execute(query)]
            rows, next_cursor = split_page(rows, limit, lambda pair: (pair[0].created_at, pair[0].id))
            shared = await self._shared_documents(session, [r.id for r, _ in rows], now)
        items = [
            self._read(r, subject, now, as_agency=as_agency, documents=shared.get(r.id, [])) for r, subject in rows
        ]
        return RequestPage(items=items, next_cursor=next_cursor)

    async def approve(self, caller: Caller, request_id: uuid.UUID, body: ApproveRequest) -> RequestRead:
        """Answer yes with chosen documents (of the requested kinds): one grant each. Replays answer 409."""
        now = self.clock()
        async with self._db.transaction() as session:
            request = await self._answer(session, caller, request_id, "approved", now)
            chosen = await self._chosen_documents(session, request, list(dict.fromkeys(body.documents)))
            for document in chosen:
                grant = Grant(
                    id=uuid.uuid4(),
                    document_id=document.id,
                    owner_id=request.citizen_id,
                    grantee_issuer=request.issuer,
                    grantee_agency=request.agency,
                    can_view=True,
                    can_download=True,
                    purpose=request.purpose,
                    request_id=request.id,
                    created_at=now,
                    expires_at=request.expires_at,
                )
                await add_grant(session, self._trail, caller, grant)
            await self._audit(session, AuditAction.REQUEST_APPROVE, caller, request, {"documents": len(chosen)})
            return self._read(request, caller.subject, now, as_agency=False, documents=[d.id for d in chosen])

    async def deny(self, caller: Caller, request_id: uuid.UUID) -> RequestRead:
        """Answer no. Replays answer 409."""
        now = self.clock()
        async with self._db.transaction() as session:
            request = await self._answer(session, caller, request_id, "denied", now)
            await self._audit(session, AuditAction.REQUEST_DENY, caller, request)
            return self._read(request, caller.subject, now, as_agency=False, documents=[])

    async def _answer(
        self, session: AsyncSession, caller: Caller, request_id: uuid.UUID, status: str, now: datetime
    ) -> AgencyRequest:
        """Move the caller's pending, unexpired request to `status` atomically; else 404, 410 or 409."""
        account = await AccountRepository(session).of(caller)
        if account is None:
            raise NotFound("no such request")
        answered: CursorResult[object] = await session.execute(  # type: ignore[assignment]
            update(AgencyRequest)
            .where(
                AgencyRequest.id == request_id,
                AgencyRequest.citizen_id == account.id,
                AgencyRequest.status == "pending",
                AgencyRequest.expires_at > now,
            )
            .values(status=status, answered_at=now)
            .execution_options(synchronize_session=False)
        )
        request = await session.scalar(
            select(AgencyRequest).where(AgencyRequest.id == request_id, AgencyRequest.citizen_id == account.id)
        )
        if request is None:
            raise NotFound("no such request")
        if answered.rowcount != 1:
            if request.status == "pending":
                raise Gone("this request has expired")
            raise Conflict("this request was already answered")
        await session.refresh(request)
        return request

    async def _chosen_documents(
        self, session: AsyncSession, request: AgencyRequest, ids: list[uuid.UUID]
    ) -> list[Document]:
        if not ids:
            return []
        found = {
            d.id: d
            for d in await session.scalars(
                select(Document).where(Document.id.in_(ids), Document.owner_id == request.citizen_id)
            )
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound("no such document")
        kinds = set(request.kinds.split(","))
        if any(found[i].kind not in kinds for i in ids):
            raise UnprocessableContent("only documents of the requested kinds can be shared with this request")
        return [found[i] for i in ids]

    async def _shared_documents(
        self, session: AsyncSession, request_ids: list[uuid.UUID], now: datetime
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        """Documents currently shared (grants in force) under each request."""
        if not request_ids:
            return {}
        rows = await session.execute(
            select(Grant.request_id, Grant.document_id)
            .where(Grant.request_id.in_(request_ids), in_force(now))
            .order_by(Grant.created_at, Grant.document_id)
        )
        shared: dict[uuid.UUID, list[uuid.UUID]] = {}
        for request_id, document_id in rows:
            if request_id is not None:
                shared.setdefault(request_id, []).append(document_id)
        return shared

    @staticmethod
    def _read(
        request: AgencyRequest, citizen: str, now: datetime, *, as_agency: bool, documents: list[uuid.UUID]
    ) -> RequestRead:
        return RequestRead(
            id=request.id,
            agency=request.agency,
            citizen=citizen,
            kinds=request.kinds.split(","),
            purpose=request.purpose,
            legal_basis=request.legal_basis,
            status=_agency_status(request, now) if as_agency else _citizen_status(request, now),
            created_at=request.created_at,
            expires_at=request.expires_at,
            documents=documents,
        )

    async def _audit(
        self,
        session: AsyncSession,
        action: AuditAction,
        caller: Caller,
        request: AgencyRequest,
        details: Mapping[str, Detail] | None = None,
    ) -> None:
        event = await self._trail.event(
            session,
            action,
            Outcome.SUCCESS,
            caller,
            owner_id=request.citizen_id,
            request_id=request.id,
            purpose=request.purpose,
            details=details,
        )
        await self._trail.record(session, event)
