"""Issuance: an agency pushes a PDF it sealed into a citizen's vault. On ingest every signature is verified
against the configured trust roots, and the newest must be by the issuing agency's own registered seal
certificate (nothing but validation material after it); the document is marked issued by the agency and cannot
be altered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import signing
from vault.core.errors import Forbidden, PayloadTooLarge, UnprocessableContent
from vault.core.principal import Caller
from vault.documents.content import IncomingContent
from vault.documents.schemas import DocumentRead, NewDocument
from vault.documents.service import DocumentService

__all__ = ("IssuanceService", "SealRegistry", "SignatureVerifier")


class SignatureVerifier(Protocol):
    """What issuance needs of `signing.PdfVerifier` (the seam for another verifier)."""

    async def verify(self, pdf: bytes) -> signing.VerificationReport:
        """Verify every signature of `pdf` against the trust roots."""
        ...


class SealRegistry(Protocol):
    """What issuance needs of the agencies' seals: was this document sealed by this agency's own certificate?"""

    async def check(self, agency: str, pdf: bytes) -> signing.SealCheck:
        """Whether `pdf` is sealed by `agency`'s registered certificate (`signing.UnknownAgency` without one)."""
        ...


async def _one_piece(data: bytes) -> AsyncIterator[bytes]:
    yield data


class IssuanceService:
    """Verifies and stores documents that agencies issue into citizens' vaults."""

    def __init__(
        self,
        documents: DocumentService,
        verifier: SignatureVerifier,
        seals: SealRegistry,
        *,
        max_bytes: int,
    ) -> None:
        self._documents = documents
        self._verifier = verifier
        self._seals = seals
        self.max_bytes = max_bytes

    async def issue(self, caller: Caller, citizen: str, meta: NewDocument, pdf: bytes) -> DocumentRead:
        """Verify `pdf` (422 unless every signature is intact, valid and trusted, and the newest is the issuing
        agency's own seal), then store it for `citizen`."""
        if not caller.agency:
            raise Forbidden("only an officer acting for an agency can issue documents")
        if len(pdf) > self.max_bytes:
            raise PayloadTooLarge(f"issued documents are limited to {self.max_bytes} bytes")
        report = await self._verified(pdf)
        await self._sealed_by(caller.agency, pdf)
        signer = report.signatures[0].signer
        content = IncomingContent("application/pdf", _one_piece(pdf), len(pdf))
        details = {
            "signatures": len(report.signatures),
            "signer_sha256": signer.sha256_fingerprint if signer else None,
        }
        return await self._documents.create_document(caller, citizen, meta, content, issued=True, details=details)

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

    async def _sealed_by(self, agency: str, pdf: bytes) -> None:
        try:
            check = await self._seals.check(agency, pdf)
        except signing.UnknownAgency as exc:
            raise UnprocessableContent(f"no seal is registered for the agency {agency!r}; it cannot issue") from exc
        except signing.InvalidPdf as exc:
            raise UnprocessableContent(exc.detail) from exc
        if not check.sealed:
            raise UnprocessableContent(
                f"an issued document must be sealed by the issuing agency's own registered seal: {check.reason}"
            )
