"""Subject keys and data keys: the middle of the KEK -> SK -> DEK hierarchy (CRYPTO.md)."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import storage
from vault.accounts.models import ServiceSecret, SubjectKey
from vault.core.errors import IntegrityFailure, KeysUnavailable

__all__ = ("KeyService", "SubjectKeyMaterial", "dek_context", "object_context", "subject_key_context")

SK_DOMAIN = "citizen-vault/subject-key/v1"
DEK_DOMAIN = "citizen-vault/data-key/v1"
OBJECT_DOMAIN = "citizen-vault/object/v1"
SERVICE_DOMAIN = "citizen-vault/service-secret/v1"


def subject_key_context(account_id: uuid.UUID, version: int) -> bytes:
    return storage.canonical_context(SK_DOMAIN, [("owner", str(account_id)), ("sk-version", str(version))])


def dek_context(account_id: uuid.UUID, document_id: uuid.UUID, version_id: uuid.UUID, sk_version: int) -> bytes:
    return storage.canonical_context(
        DEK_DOMAIN,
        [
            ("owner", str(account_id)),
            ("document", str(document_id)),
            ("version", str(version_id)),
            ("sk-version", str(sk_version)),
        ],
    )


def object_context(account_id: uuid.UUID, document_id: uuid.UUID, version_id: uuid.UUID) -> bytes:
    return storage.canonical_context(
        OBJECT_DOMAIN,
        [("owner", str(account_id)), ("document", str(document_id)), ("version", str(version_id))],
    )


@dataclass(frozen=True)
class SubjectKeyMaterial:
    """An unwrapped subject key, held only for the duration of one request."""

    account_id: uuid.UUID
    version: int
    key: bytes


class KeyService:
    """Creates, unwraps and rotates subject keys; wraps data keys under them."""

    def __init__(self, provider: storage.KeyProvider) -> None:
        self._provider = provider

    @property
    def provider(self) -> storage.KeyProvider:
        """The key provider holding the KEK."""
        return self._provider

    async def _call_provider(self, call: Callable[[], bytes]) -> bytes:
        """A key-provider call in a worker thread (an HSM round trip must not block the event loop)."""
        try:
            return await asyncio.to_thread(call)
        except storage.KeyProviderUnavailable as exc:
            raise KeysUnavailable() from exc
        except storage.IntegrityError as exc:
            raise IntegrityFailure("a wrapped key failed authentication") from exc

    async def current_subject_key(self, session: AsyncSession, account_id: uuid.UUID) -> SubjectKeyMaterial:
        """The owner's newest subject key, created (and flushed) on first use."""
        row = await session.scalar(
            select(SubjectKey).where(SubjectKey.account_id == account_id).order_by(SubjectKey.version.desc()).limit(1)
        )
        if row is not None:
            return SubjectKeyMaterial(account_id, row.version, await self._unwrap_row(row))
        key = storage.generate_key()
        wrapped = await self._call_provider(
            functools.partial(self._provider.wrap, key, subject_key_context(account_id, 1))
        )
        try:
            async with session.begin_nested():
                session.add(
                    SubjectKey(
                        account_id=account_id,
                        version=1,
                        wrapped=wrapped,
                        kek_version=self._provider.current_version(),
                    )
                )
        except sa_exc.IntegrityError:
            # A concurrent first upload created it: use theirs.
            return await self.subject_key(session, account_id, 1)
        return SubjectKeyMaterial(account_id, 1, key)

    async def first_subject_key(self, session: AsyncSession, account_id: uuid.UUID) -> SubjectKeyMaterial:
        """Version 1 of the owner's subject key (what pseudonyms derive from), created on first use."""
        row = await session.get(SubjectKey, (account_id, 1))
        if row is None:
            return await self.current_subject_key(session, account_id)
        return SubjectKeyMaterial(account_id, 1, await self._unwrap_row(row))

    async def subject_key(self, session: AsyncSession, account_id: uuid.UUID, version: int) -> SubjectKeyMaterial:
        """A given version of the owner's subject key; gone after the account's keys were destroyed."""
        row = await session.get(SubjectKey, (account_id, version))
        if row is None:
            raise IntegrityFailure("the subject key of this document no longer exists")
        return SubjectKeyMaterial(account_id, version, await self._unwrap_row(row))

    async def _unwrap_row(self, row: SubjectKey) -> bytes:
        context = subject_key_context(row.account_id, row.version)
        return await self._call_provider(functools.partial(self._provider.unwrap, row.wrapped, context))

    @staticmethod
    def wrap_data_key(sk: SubjectKeyMaterial, dek: bytes, context: bytes) -> bytes:
        return storage.wrap_key(sk.key, dek, context)

    @staticmethod
    def unwrap_data_key(sk: SubjectKeyMaterial, wrapped: bytes, context: bytes) -> bytes:
        try:
            return storage.unwrap_key(sk.key, wrapped, context)
        except storage.IntegrityError as exc:
            raise IntegrityFailure("a data key failed authentication") from exc

    async def rewrap_all(self, session: AsyncSession) -> int:
        """Rewrap every subject key to the provider's current KEK version. Resumable and idempotent."""
        current = self._provider.current_version()
        rows = (await session.scalars(select(SubjectKey).where(SubjectKey.kek_version != current))).all()
        for row in rows:
            context = subject_key_context(row.account_id, row.version)
            row.wrapped = await self._call_provider(functools.partial(self._provider.rewrap, row.wrapped, context))
            row.kek_version = current
        await session.flush()
        return len(rows)

    async def check(self) -> None:
        """Raise KeysUnavailable unless the key provider answers (in a worker thread)."""
        try:
            await asyncio.to_thread(self._provider.check)
        except storage.KeyProviderUnavailable as exc:
            raise KeysUnavailable() from exc

    async def service_secret(self, session: AsyncSession, name: str, generate: Callable[[], bytes]) -> bytes:
        """A named service secret, generated and stored wrapped on first use (shared by all instances)."""
        context = storage.canonical_context(SERVICE_DOMAIN, [("name", name)])
        row = await session.get(ServiceSecret, name)
        if row is None:
            secret = generate()
            try:
                async with session.begin_nested():
                    session.add(
                        ServiceSecret(
                            name=name,
                            wrapped=await self._call_provider(functools.partial(self._provider.wrap, secret, context)),
                            kek_version=self._provider.current_version(),
                        )
                    )
            except sa_exc.IntegrityError:
                row = await session.get(ServiceSecret, name)
            else:
                return secret
        assert row is not None
        return await self._call_provider(functools.partial(self._provider.unwrap, row.wrapped, context))
