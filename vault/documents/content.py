"""Encrypted content of document versions: streaming it into the store, unwrapping its key, decrypting it out."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

import storage
from vault.accounts.keys import KeyService, SubjectKeyMaterial, dek_context, object_context
from vault.accounts.trail import AuditTrail
from vault.audit.actions import AuditAction, Outcome
from vault.core.errors import (
    BadRequest,
    IntegrityFailure,
    PayloadTooLarge,
    RangeNotSatisfiable,
    StorageUnavailableError,
)
from vault.core.principal import Caller
from vault.core.tracing import child_span
from vault.documents.media import sniffed
from vault.documents.models import Document, DocumentVersion

__all__ = ("Content", "ContentVault", "IncomingContent", "UnlockedVersion", "resolve_range")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingContent:
    """A document body as it streams in."""

    media_type: str
    body: AsyncIterator[bytes]
    declared_size: int | None = None


@dataclass(frozen=True)
class Content:
    """Decrypted bytes on their way out: `chunks` yields [start, end) of a `size`-byte version."""

    media_type: str
    size: int
    sha256: str
    start: int
    end: int
    version: int
    title: str
    chunks: AsyncGenerator[bytes, None]
    filename: str | None = None


@dataclass(frozen=True)
class UnlockedVersion:
    """A version whose data key is unwrapped: everything needed to decrypt it, nothing of the ORM."""

    owner_id: uuid.UUID
    document_id: uuid.UUID
    title: str
    filename: str | None
    version_id: uuid.UUID
    number: int
    media_type: str
    size: int
    sha256: str
    object_key: str
    dek: bytes = field(repr=False)


def object_key(owner: uuid.UUID, document: uuid.UUID, version: uuid.UUID) -> str:
    """Where a version's ciphertext lives: opaque ids only."""
    return f"v1/{owner}/{document}/{version}"


def resolve_range(byte_range: tuple[int | None, int | None] | None, size: int) -> tuple[int, int]:
    """[start, end) for a parsed `Range`: (first, inclusive last or None), or (None, suffix length); 416 when
    unsatisfiable (including `bytes=-0`, which asks for nothing)."""
    if byte_range is None:
        return 0, size
    first, last = byte_range
    if first is None:  # suffix range: the last `last` bytes
        if not last or size == 0:
            raise RangeNotSatisfiable(size=size)
        return max(0, size - last), size
    if first >= size:
        raise RangeNotSatisfiable(size=size)
    end = size if last is None else min(last + 1, size)
    return first, end


class ContentVault:
    """The object store and the key hierarchy, as documents see them."""

    def __init__(self, store: storage.ObjectStore, keys: KeyService, trail: AuditTrail, max_bytes: int) -> None:
        self.store = store
        self._keys = keys
        self._trail = trail
        self.max_bytes = max_bytes

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"documents are limited to {self.max_bytes} bytes")

    async def store_version(
        self,
        sk: SubjectKeyMaterial,
        document_id: uuid.UUID,
        number: int,
        created_by: str,
        content: IncomingContent,
        origin: str,
    ) -> DocumentVersion:
        """Stream-encrypt `content` into the store; the (unsaved) version row that describes it."""
        if content.declared_size is not None and content.declared_size > self.max_bytes:
            raise self.too_large()
        version_id = uuid.uuid4()
        dek = storage.generate_key()
        key = object_key(sk.account_id, document_id, version_id)
        try:
            with child_span("store.put"):  # the whole upload: read, encrypt, write
                stored = await storage.encrypt_to_store(
                    self.store,
                    key,
                    dek,
                    object_context(sk.account_id, document_id, version_id),
                    sniffed(content.media_type, content.body),
                    max_bytes=self.max_bytes,
                    plaintext_size=content.declared_size,
                )
        except storage.TooLarge as exc:
            raise self.too_large() from exc
        except storage.StorageUnavailable as exc:
            raise StorageUnavailableError() from exc
        except storage.StorageError as exc:
            raise BadRequest(getattr(exc, "detail", "upload failed")) from exc
        wrapped = self._keys.wrap_data_key(sk, dek, dek_context(sk.account_id, document_id, version_id, sk.version))
        return DocumentVersion(
            id=version_id,
            number=number,
            media_type=content.media_type,
            size=stored.plaintext_size,
            sha256=stored.sha256,
            object_key=key,
            wrapped_dek=wrapped,
            sk_version=sk.version,
            created_by=created_by[:64],
            origin=origin,
        )

    async def discard(self, key: str) -> None:
        """Best-effort removal of an object whose row never committed (the reconciliation sweep is the backstop)."""
        with contextlib.suppress(storage.StorageError):
            await self.store.delete(key)

    async def delete_objects(self, keys: list[str]) -> None:
        """Remove erased objects; their data keys are already gone, so any left behind are unreadable."""
        for key in keys:
            try:
                await self.store.delete(key)
            except storage.StorageError:
                log.warning("object %s of an erased document is left for the reconciliation sweep", key)

    async def unlock(self, session: AsyncSession, document: Document, version: DocumentVersion) -> UnlockedVersion:
        """Unwrap the version's data key (subject key under the KEK, data key under the subject key)."""
        sk = await self._keys.subject_key(session, document.owner_id, version.sk_version)
        dek = self._keys.unwrap_data_key(
            sk, version.wrapped_dek, dek_context(document.owner_id, document.id, version.id, version.sk_version)
        )
        return UnlockedVersion(
            owner_id=document.owner_id,
            document_id=document.id,
            title=document.title,
            filename=document.filename,
            version_id=version.id,
            number=version.number,
            media_type=version.media_type,
            size=version.size,
            sha256=version.sha256,
            object_key=version.object_key,
            dek=dek,
        )

    async def decrypt(
        self, unlocked: UnlockedVersion, caller: Caller | None, start: int = 0, end: int | None = None
    ) -> Content:
        """Start decrypting [start, end) of an unlocked version (call it after the transaction committed).

        The first piece is decrypted before this returns, so a tampered header, a truncated, swapped or missing
        object or an unavailable store fails here (and is audited), before any byte or status line goes out.
        """
        end = unlocked.size if end is None else end
        chunks = storage.decrypt_from_store(
            self.store,
            unlocked.object_key,
            unlocked.dek,
            object_context(unlocked.owner_id, unlocked.document_id, unlocked.version_id),
            unlocked.size,
            start,
            end,
        )
        primed = await self._prime(chunks, caller, unlocked)
        return Content(
            unlocked.media_type,
            unlocked.size,
            unlocked.sha256,
            start,
            end,
            unlocked.number,
            unlocked.title,
            primed,
            unlocked.filename,
        )

    async def _prime(
        self, chunks: AsyncGenerator[bytes, None], caller: Caller | None, unlocked: UnlockedVersion
    ) -> AsyncGenerator[bytes, None]:
        try:
            with child_span("store.get"):  # opening the object and its first piece; the rest streams later
                first = await anext(chunks)
        except StopAsyncIteration:
            first = b""
        except (storage.IntegrityError, storage.ObjectNotFound) as exc:
            # a missing object is the store failing its integrity promise, not an outage
            missing = isinstance(exc, storage.ObjectNotFound)
            await self._trail.record_now(
                self._trail.entry(
                    AuditAction.DOCUMENT_INTEGRITY_FAILURE,
                    Outcome.FAILED,
                    caller,
                    document_id=unlocked.document_id,
                    version_id=unlocked.version_id,
                    details={"reason": "object missing" if missing else "authentication failed"},
                )
            )
            raise IntegrityFailure() from exc
        except storage.StorageUnavailable as exc:
            raise StorageUnavailableError() from exc

        async def rest() -> AsyncGenerator[bytes, None]:
            try:
                if first:
                    yield first
                async for piece in chunks:
                    yield piece
            except storage.IntegrityError:
                log.error("integrity failure mid-stream: document %s version %s", unlocked.document_id, unlocked.number)
                raise
            finally:
                await chunks.aclose()

        return rest()
