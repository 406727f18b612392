"""Erasing a citizen's account: crypto-shred every document, destroy the subject keys, keep the log verifiable."""

from __future__ import annotations

from sqlalchemy import delete

from vault.accounts.models import Account, SubjectKey
from vault.accounts.repository import AccountRepository
from vault.accounts.trail import AuditTrail
from vault.audit.actions import AuditAction, Outcome
from vault.core.database import Database
from vault.core.errors import Conflict, NotFound
from vault.core.principal import Caller
from vault.documents.content import ContentVault
from vault.documents.repository import DocumentRepository

__all__ = ("ERASE_CONFIRMATION", "AccountErasure")

ERASE_CONFIRMATION = "erase-my-account"


class AccountErasure:
    """The caller's account as a whole, erased."""

    def __init__(self, db: Database, content: ContentVault, trail: AuditTrail) -> None:
        self._db = db
        self._content = content
        self._trail = trail

    async def erase(self, caller: Caller) -> int:
        """Erase the caller's account; returns how many documents went with it.

        In one transaction: the audit entry (under the owner's pseudonym, computed while the key still exists),
        then the subject keys — which makes every data key, and so every copy of every object, unreadable — then
        the account with its documents, versions, grants, links and requests (database cascades). The objects
        are deleted afterwards; any left behind are ciphertext under destroyed keys and the reconciliation sweep
        removes them. Legal hold blocks all of it.
        """
        async with self._db.transaction() as session:
            account = await AccountRepository(session).of(caller)
            if account is None:
                raise NotFound("there is no account to erase")
            if account.legal_hold:
                raise Conflict("this account is under legal hold; erasure is blocked")
            documents = DocumentRepository(session)
            object_keys = await documents.object_keys_of_owner(account.id)
            count = await documents.count_of_owner(account.id)
            event = await self._trail.event(
                session,
                AuditAction.ACCOUNT_ERASE,
                Outcome.SUCCESS,
                caller,
                owner_id=account.id,
                details={"documents": count},
            )
            await self._trail.record(session, event)
            await session.execute(delete(SubjectKey).where(SubjectKey.account_id == account.id))
            await session.execute(delete(Account).where(Account.id == account.id))
            account_id = account.id
        self._trail.forget(account_id, caller.issuer, caller.subject)
        await self._db.erased()
        await self._content.delete_objects(object_keys)
        return count
