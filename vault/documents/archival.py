"""The service's own access to signed PDFs for long-term archival: read the current version of signed documents
and add a renewed version, with no caller (a background job), each renewal an audit event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from vault.accounts.keys import KeyService
from vault.accounts.trail import AuditTrail, Detail
from vault.audit.actions import AuditAction, Outcome
from vault.core.clock import Clock
from vault.core.database import Database
from vault.core.errors import Conflict
from vault.documents.content import ContentVault, IncomingContent
from vault.documents.models import Document, DocumentVersion
from vault.documents.repository import DocumentRepository

__all__ = ("ArchivalStore", "SignedVersion")

RENEWAL_ORIGIN = "lta-renewal"
SIGNED_ORIGINS = ("signature", "issued", RENEWAL_ORIGIN)
_SYSTEM = "vault:lta-renewal"


@dataclass(frozen=True)
class SignedVersion:
    """The current version of a document that carries signatures."""

    document_id: uuid.UUID
    number: int
    origin: str
    created_at: datetime
    size: int


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class ArchivalStore:
    """Signed documents as the archival job sees them (no caller: the service acts on its own)."""

    def __init__(self, db: Database, content: ContentVault, keys: KeyService, trail: AuditTrail, clock: Clock) -> None:
        self._db = db
        self._content = content
        self._keys = keys
        self._trail = trail
        self._clock = clock

    async def signed_versions(self, max_bytes: int) -> list[SignedVersion]:
        """Current versions that are signed PDFs (signed, issued or renewed), at most `max_bytes` each."""
        query = (
            select(DocumentVersion)
            .join(Document, Document.id == DocumentVersion.document_id)
            .where(
                DocumentVersion.number == Document.current_version,
                DocumentVersion.media_type == "application/pdf",
                DocumentVersion.origin.in_(SIGNED_ORIGINS),
                DocumentVersion.size <= max_bytes,
            )
            .order_by(DocumentVersion.created_at)
        )
        async with self._db.transaction() as session:
            rows = list(await session.scalars(query))
        return [SignedVersion(v.document_id, v.number, v.origin, v.created_at, v.size) for v in rows]

    async def read(self, version: SignedVersion) -> bytes:
        """The plaintext of a version (integrity-checked while it decrypts)."""
        async with self._db.transaction() as session:
            document = await DocumentRepository(session).load(version.document_id)
            row = next((v for v in document.versions if v.number == version.number), None) if document else None
            if document is None or row is None:
                raise Conflict("the document changed or was erased")
            unlocked = await self._content.unlock(session, document, row)
        content = await self._content.decrypt(unlocked, None)
        return b"".join([piece async for piece in content.chunks])

    async def add_renewal(self, version: SignedVersion, pdf: bytes, details: dict[str, Detail]) -> int:
        """Store `pdf` as the next version (origin `lta-renewal`) unless the document changed meanwhile (409);
        the renewal is an audit event (`document.lta_renew`) in the same transaction. Returns the new number."""
        number = version.number + 1
        async with self._db.transaction() as session:
            document = await DocumentRepository(session).load(version.document_id)
            if document is None or document.current_version != version.number:
                raise Conflict("the document changed while it was being renewed")
            owner_id = document.owner_id
            sk = await self._keys.current_subject_key(session, owner_id)
        content = IncomingContent("application/pdf", _once(pdf), len(pdf))
        stored = await self._content.store_version(sk, version.document_id, number, _SYSTEM, content, RENEWAL_ORIGIN)
        async with self._db.transaction(on_failure=lambda: self._content.discard(stored.object_key)) as session:
            current = await DocumentRepository(session).load(version.document_id)
            if current is None or current.versions[-1].number != version.number:
                raise Conflict("the document changed while it was being renewed")
            now = self._clock()
            stored.created_at = now
            current.versions.append(stored)
            current.current_version = number
            current.updated_at = now
            await session.flush()
            event = await self._trail.event(
                session,
                AuditAction.LTA_RENEW,
                Outcome.SUCCESS,
                None,
                owner_id=owner_id,
                document_id=version.document_id,
                version_id=stored.id,
                details={"number": number, "size": stored.size, **details},
            )
            await self._trail.record(session, event)
        return number
