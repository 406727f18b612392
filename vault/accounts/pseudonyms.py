"""Audit pseudonyms: an owner (or actor) appears in the log only as an HMAC under a key derived from their
subject key, unlinkable once that key is destroyed (CRYPTO.md, erasure)."""

from __future__ import annotations

import uuid
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession

from vault.accounts.keys import KeyService
from vault.audit.pseudonym import derive_pseudonym_key, owner_pseudonym

__all__ = ("PSEUDONYM_CACHE_SIZE", "PseudonymService")

PSEUDONYM_CACHE_SIZE = 10_000


class PseudonymService:
    """Pseudonyms of accounts, with a bounded in-process cache.

    Pseudonyms are not secrets, only unlinkable without the key: caching them saves a subject-key unwrap on every
    audited read. Erasure calls `forget` on this instance; another instance's cached pseudonym of an erased
    account cannot be recomputed by anyone and names nothing.
    """

    def __init__(self, keys: KeyService, capacity: int = PSEUDONYM_CACHE_SIZE) -> None:
        self._keys = keys
        self._capacity = capacity
        self._cache: OrderedDict[uuid.UUID, str] = OrderedDict()

    async def of(self, session: AsyncSession, account_id: uuid.UUID) -> str:
        """The account's pseudonym, from version 1 of its subject key (created with the account's first event)."""
        cached = self._cache.get(account_id)
        if cached is not None:
            self._cache.move_to_end(account_id)
            return cached
        sk = await self._keys.first_subject_key(session, account_id)
        ref = owner_pseudonym(derive_pseudonym_key(sk.key), account_id)
        self._cache[account_id] = ref
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return ref

    def cached(self, account_id: uuid.UUID) -> str | None:
        """The account's pseudonym if this process has it at hand (no database, no key unwrap); else None."""
        return self._cache.get(account_id)

    def forget(self, account_id: uuid.UUID) -> None:
        """Drop a cached pseudonym (the account's keys were destroyed)."""
        self._cache.pop(account_id, None)
