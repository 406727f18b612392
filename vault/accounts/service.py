"""Erasing a citizen's account: crypto-shred every document, destroy the subject keys, keep the log verifiable."""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select

import storage
from vault.accounts.models import Account, SubjectKey
from vault.database import Database
from vault.documents.models import Document, DocumentVersion
from vault.documents.service import DocumentService
from vault.errors import Conflict, NotFound
from vault.events import EventRecorder
from vault.principal import Caller

__all__ = ("AccountService",)

log = logging.getLogger(__name__)


class AccountService:
    """The caller's account as a whole."""

    def __init__(
        self, db: Database, store: storage.ObjectStore, documents: DocumentService, events: EventRecorder
    ) -> None:
        self._db = db
        self._store = store
        self._documents = documents
        self._events = events

    async def erase(self, caller: Caller) -> int:
        """Erase the caller's account; returns how many documents went with it.

        In one transaction: the audit entry (under the owner's pseudonym, computed while the key still exists),
        then the subject keys — which makes every data key, and so every copy of every object, unreadable — then
        the account with its documents, versions, grants, links and requests (database cascades). The objects
        are deleted afterwards; any left behind are ciphertext under destroyed keys. Legal hold blocks all of it.
        """
        async with self._db.transaction() as session:
            account = await session.scalar(
                select(Account).where(Account.issuer == caller.issuer, Account.subject == caller.subject)
            )
            if account is None:
                raise NotFound("there is no account to erase")
            if account.legal_hold:
                raise Conflict("this account is under legal hold; erasure is blocked")
            object_keys = list(
                await session.scalars(
                    select(DocumentVersion.object_key)
                    .join(Document, Document.id == DocumentVersion.document_id)
                    .where(Document.owner_id == account.id)
                )
            )
            documents = (
                await session.scalar(select(func.count()).select_from(Document).where(Document.owner_id == account.id))
                or 0
            )
            owner_ref = await self._documents.owner_ref(session, account.id)
            await self._events.append(
                session,
                self._events.event(
                    "account.erase", "success", caller, owner_ref=owner_ref, details={"documents": documents}
                ),
            )
            await session.execute(delete(SubjectKey).where(SubjectKey.account_id == account.id))
            await session.execute(delete(Account).where(Account.id == account.id))
            account_id = account.id
        self._documents.forget_owner(account_id)
        for key in object_keys:
            try:
                await self._store.delete(key)
            except storage.StorageError:
                log.warning("an object of an erased account was left for the sweeper (its key is destroyed)")
        return documents

    async def set_legal_hold(self, caller: Caller, subject: str, hold: bool, reason: str) -> bool:
        """Put a citizen's account under legal hold (erasure blocked) or release it; audited with its reason."""
        async with self._db.transaction() as session:
            account = await session.scalar(
                select(Account).where(Account.issuer == caller.issuer, Account.subject == subject)
            )
            if account is None:
                raise NotFound("no such account")
            account.legal_hold = hold
            await self._events.append(
                session,
                self._events.event(
                    "account.legal_hold",
                    "success",
                    caller,
                    owner_ref=await self._documents.owner_ref(session, account.id),
                    purpose=reason,
                    details={"hold": hold},
                ),
            )
            return hold
