"""Issuance: an agency pushes a PDF it signed into a citizen's vault. The signature is verified on ingest
against the configured trust roots; the document is marked issued by the agency and cannot be altered."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import signing
import storage
from vault.accounts.keys import KeyService, SubjectKeyMaterial, account_for, dek_context, object_context
from vault.database import Database
from vault.documents.models import Document, DocumentVersion
from vault.documents.schemas import DocumentRead, NewDocument
from vault.documents.service import DocumentService, to_read
from vault.errors import Forbidden, PayloadTooLarge, StorageUnavailableError, UnprocessableContent
from vault.events import EventRecorder
from vault.principal import Caller
from vault.sharing.expiry import Clock, utcnow

__all__ = ("IssuanceService", "SignatureVerifier")


class SignatureVerifier(Protocol):
    """What issuance needs of `signing.PdfVerifier` (the seam for another verifier)."""

    async def verify(self, pdf: bytes) -> signing.VerificationReport:
        """Verify every signature of `pdf` against the trust roots."""
        ...


async def _one_piece(data: bytes) -> AsyncIterator[bytes]:
    yield data


class IssuanceService:
    """Verifies and stores documents that agencies issue into citizens' vaults."""

    def __init__(
        self,
        db: Database,
        store: storage.ObjectStore,
        keys: KeyService,
        documents: DocumentService,
        events: EventRecorder,
        verifier: SignatureVerifier,
        *,
        max_bytes: int,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._store = store
        self._keys = keys
        self._documents = documents
        self._events = events
        self._verifier = verifier
        self.max_bytes = max_bytes
        self.clock = clock

    async def issue(self, caller: Caller, citizen: str, meta: NewDocument, pdf: bytes) -> DocumentRead:
        """Verify `pdf` (422 unless every signature is intact, valid and trusted), then store it for `citizen`."""
        if not caller.agency:
            raise Forbidden("only an officer acting for an agency can issue documents")
        if len(pdf) > self.max_bytes:
            raise PayloadTooLarge(f"issued documents are limited to {self.max_bytes} bytes")
        report = await self._verified(pdf)
        async with self._db.transaction() as session:
            account = await account_for(session, caller.issuer, citizen)
            sk = await self._keys.current_subject_key(session, account.id)
        document_id, version_id = uuid.uuid4(), uuid.uuid4()
        version = await self._store_version(sk, document_id, version_id, caller, pdf)
        async with self._db.transaction(on_failure=self._discard(version.object_key)) as session:
            now = self.clock()
            document = Document(
                id=document_id,
                owner_id=sk.account_id,
                title=meta.title,
                kind=meta.kind,
                current_version=1,
                issuer_agency=caller.agency,
                issuer_subject=caller.subject,
                created_at=now,
                updated_at=now,
            )
            version.created_at = now
            document.versions.append(version)
            session.add(document)
            await session.flush()
            signer = report.signatures[0].signer
            await self._events.append(
                session,
                self._events.event(
                    "document.issue",
                    "success",
                    caller,
                    owner_ref=await self._documents.owner_ref(session, sk.account_id),
                    document_id=document_id,
                    version_id=version_id,
                    details={
                        "size": version.size,
                        "signatures": len(report.signatures),
                        "signer_sha256": signer.sha256_fingerprint if signer else None,
                    },
                ),
            )
            return to_read(document, owned=False)

    async def _verified(self, pdf: bytes) -> signing.VerificationReport:
        if b"%PDF-" not in pdf[:1024]:
            raise UnprocessableContent("an issued document must be a PDF")
        try:
            report = await self._verifier.verify(pdf)
        except signing.InvalidPdf as exc:
            raise UnprocessableContent(exc.detail) from exc
        if not report.all_passed:
            raise UnprocessableContent(
                "an issued document must carry signatures that are intact, valid and trusted; this one does not"
            )
        return report

    async def _store_version(
        self, sk: SubjectKeyMaterial, document_id: uuid.UUID, version_id: uuid.UUID, caller: Caller, pdf: bytes
    ) -> DocumentVersion:
        """Encrypt into the store under the citizen's keys (same format and contexts as uploads)."""
        dek = storage.generate_key()
        key = f"v1/{sk.account_id}/{document_id}/{version_id}"
        try:
            stored = await storage.encrypt_to_store(
                self._store,
                key,
                dek,
                object_context(sk.account_id, document_id, version_id),
                _one_piece(pdf),
                max_bytes=self.max_bytes,
                plaintext_size=len(pdf),
            )
        except storage.StorageUnavailable as exc:
            raise StorageUnavailableError() from exc
        wrapped = self._keys.wrap_data_key(sk, dek, dek_context(sk.account_id, document_id, version_id, sk.version))
        return DocumentVersion(
            id=version_id,
            number=1,
            media_type="application/pdf",
            size=stored.plaintext_size,
            sha256=stored.sha256,
            object_key=key,
            wrapped_dek=wrapped,
            sk_version=sk.version,
            created_by=caller.subject[:64],
            origin="issued",
        )

    def _discard(self, object_key: str) -> Callable[[], Awaitable[None]]:
        async def discard() -> None:
            with contextlib.suppress(storage.StorageError):
                await self._store.delete(object_key)

        return discard
