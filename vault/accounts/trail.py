"""The audit trail every service writes through: one way to turn "who did what to whose data" into an entry.

Owners and actors appear only as pseudonyms (computed here from their accounts' subject keys), so no service
builds entries or pseudonyms itself, and erasing an account unlinks both its data and its actions.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from vault.accounts.pseudonyms import PseudonymService
from vault.accounts.repository import AccountRepository
from vault.audit.actions import AuditAction, Outcome
from vault.audit.entry import AuditEvent
from vault.audit.recorder import AuditRecorder
from vault.core.principal import Caller

__all__ = ("AuditTrail", "Detail")

Detail = str | int | bool | None
_ACTOR_CACHE = 10_000


class AuditTrail:
    """Records audit entries for the services (fail closed: a failed append raises a 503 error)."""

    def __init__(self, recorder: AuditRecorder, pseudonyms: PseudonymService) -> None:
        self._recorder = recorder
        self.pseudonyms = pseudonyms
        # an entry whose pseudonyms (if any) the caller already has: the recorder's own constructor
        self.entry = recorder.event
        self._actors: OrderedDict[tuple[str, str], uuid.UUID] = OrderedDict()

    async def actor_ref(self, session: AsyncSession, caller: Caller | None) -> str | None:
        """The caller's pseudonym (their account is created on first sight, like any account)."""
        if caller is None:
            return None
        key = (caller.issuer, caller.subject)
        account_id = self._actors.get(key)
        if account_id is None:
            account_id = (await AccountRepository(session).ensure(caller.issuer, caller.subject)).id
            self._actors[key] = account_id
            if len(self._actors) > _ACTOR_CACHE:
                self._actors.popitem(last=False)
        return await self.pseudonyms.of(session, account_id)

    def forget(self, account_id: uuid.UUID, issuer: str, subject: str) -> None:
        """Drop what is cached of an erased account."""
        self.pseudonyms.forget(account_id)
        self._actors.pop((issuer, subject), None)

    async def event(
        self,
        session: AsyncSession,
        action: AuditAction,
        outcome: Outcome,
        caller: Caller | None,
        *,
        owner_id: uuid.UUID | None = None,
        owner_ref: str | None = None,
        document_id: uuid.UUID | None = None,
        version_id: uuid.UUID | None = None,
        grant_id: uuid.UUID | None = None,
        request_id: uuid.UUID | None = None,
        link_id: uuid.UUID | None = None,
        purpose: str | None = None,
        details: Mapping[str, Detail] | None = None,
    ) -> AuditEvent:
        """An entry, with the owner's pseudonym looked up from `owner_id` unless `owner_ref` is given, and the
        actor's pseudonym."""
        if owner_ref is None and owner_id is not None:
            owner_ref = await self.pseudonyms.of(session, owner_id)
        return self.entry(
            action,
            outcome,
            caller,
            actor_ref=await self.actor_ref(session, caller),
            owner_ref=owner_ref,
            document_id=document_id,
            version_id=version_id,
            grant_id=grant_id,
            request_id=request_id,
            link_id=link_id,
            purpose=purpose,
            details=details,
        )

    async def record(self, session: AsyncSession, event: AuditEvent) -> None:
        """Append inside the caller's transaction: the entry commits or vanishes with the caller's rows."""
        await self._recorder.append(session, event)

    async def record_now(self, event: AuditEvent) -> None:
        """Append in a transaction of its own (denied attempts, reads after their transaction ended)."""
        await self._recorder.append_now(event)
