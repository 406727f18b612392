"""Signing a vault PDF into a new version, and verification reports for vault documents and uploads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import signing
from vault.audit.actions import AuditAction
from vault.core.errors import BadRequest, Conflict, Forbidden, UnprocessableContent
from vault.core.principal import Caller
from vault.core.translate import library_error
from vault.documents.access import Permission
from vault.documents.content import IncomingContent
from vault.documents.service import DocumentService
from vault.signatures.schemas import ReportRead, SignedVersion, SignOptions

__all__ = ("SignatureService",)

MAX_PDF_BYTES = 50 * 1024 * 1024


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def to_request(options: SignOptions, caller: Caller) -> signing.SignRequest:
    stamp = None
    if options.visible is not None:
        x1, y1, x2, y2 = options.visible.box
        if x2 <= x1 or y2 <= y1:
            raise BadRequest("the stamp box must be [x1, y1, x2, y2] with x2 > x1 and y2 > y1")
        stamp = signing.VisibleStamp(page=options.visible.page, box=(x1, y1, x2, y2), text=options.visible.text)
    if options.certify and not caller.has_role("agency"):
        raise Forbidden("only agencies certify documents")
    return signing.SignRequest(
        level=signing.PadesLevel(options.level),
        field_name=options.field,
        reason=options.reason,
        location=options.location,
        stamp=stamp,
        certify=options.certify,
        existing_field_only=options.existing_field_only,
        new_fields=tuple(options.new_fields),
    )


class SignatureService:
    """Signs with the deployment's seal; verifies against the configured trust roots."""

    def __init__(
        self,
        documents: DocumentService,
        signer: signing.PdfSigningService,
        verifier: signing.VerificationPool,
        *,
        timestamping: bool,
    ) -> None:
        self._documents = documents
        self._signer = signer
        self._verifier = verifier
        self._timestamping = timestamping

    @property
    def timestamping(self) -> bool:
        """Whether this deployment has a timestamp authority (so the levels above B-B are available)."""
        return self._timestamping

    async def sign(self, caller: Caller, document_id: uuid.UUID, options: SignOptions) -> SignedVersion:
        """Sign the current PDF version; the signed document becomes a new version (the original is kept)."""
        request = to_request(options, caller)
        if request.level.needs_timestamp and not self._timestamping:
            raise Conflict(
                f"{options.level} needs a timestamp authority and this deployment has none (VAULT_TSA_URL); "
                "sign at B-B or configure one"
            )
        pdf, media_type = await self._documents.read_bytes(
            caller, document_id, permission=Permission.SIGN, action=AuditAction.DOCUMENT_SIGN, max_bytes=MAX_PDF_BYTES
        )
        if media_type != "application/pdf":
            raise UnprocessableContent("only PDF documents can be signed")
        try:
            signed = await self._signer.sign(pdf, request)
        except signing.SigningError as exc:
            raise library_error(exc) from exc
        content = IncomingContent("application/pdf", _once(signed), len(signed))
        stored = await self._documents.add_version(
            caller, document_id, content, origin="signature", permission=Permission.SIGN
        )
        return SignedVersion(document_id=stored.id, version=stored.version, size=stored.size, sha256=stored.sha256)

    async def report_for_document(self, caller: Caller, document_id: uuid.UUID, *, etsi: bool = False) -> ReportRead:
        """The verification report of a vault document's current version."""
        pdf, media_type = await self._documents.read_bytes(
            caller, document_id, permission=Permission.VIEW, action=AuditAction.DOCUMENT_VERIFY, max_bytes=MAX_PDF_BYTES
        )
        if media_type != "application/pdf":
            raise UnprocessableContent("only PDF documents carry signatures")
        return await self.report(pdf, etsi=etsi)

    async def report(self, pdf: bytes, *, etsi: bool = False) -> ReportRead:
        """The verification report of any PDF (never stored); with `etsi`, also the ETSI TS 119 102-2 XML
        validation report of each signature (`etsi_reports`)."""
        try:
            report = await self._verifier.verify(pdf)
            xml = await self._verifier.etsi_report_xml(pdf) if etsi else None
        except signing.SigningError as exc:
            raise library_error(exc) from exc
        return ReportRead(signatures=report.signatures, notes=report.notes, etsi_reports=xml)
