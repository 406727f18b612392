"""Operator actions on accounts: legal holds."""

from __future__ import annotations

from vault.accounts.repository import AccountRepository
from vault.accounts.trail import AuditTrail
from vault.audit.actions import AuditAction, Outcome
from vault.core.database import Database
from vault.core.errors import NotFound
from vault.core.principal import Caller

__all__ = ("LegalHoldService",)


class LegalHoldService:
    """Places and lifts legal holds (erasure of documents and accounts is blocked while held)."""

    def __init__(self, db: Database, trail: AuditTrail) -> None:
        self._db = db
        self._trail = trail

    async def set(self, caller: Caller, subject: str, hold: bool, reason: str) -> bool:
        """Put a citizen's account under legal hold or release it; audited with its reason."""
        async with self._db.transaction() as session:
            account = await AccountRepository(session).by_identity(caller.issuer, subject)
            if account is None:
                raise NotFound("no such account")
            account.legal_hold = hold
            event = await self._trail.event(
                session,
                AuditAction.ACCOUNT_LEGAL_HOLD,
                Outcome.SUCCESS,
                caller,
                owner_id=account.id,
                purpose=reason,
                details={"hold": hold},
            )
            await self._trail.record(session, event)
            return hold
