"""Signing a vault PDF into a new version, and verification reports for vault documents and uploads."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

from cryptography import x509

import signing
from vault.accounts.trail import AuditTrail, Detail
from vault.audit.actions import AuditAction, Outcome
from vault.core.database import Database
from vault.core.errors import BadRequest, Conflict, Forbidden, UnprocessableContent
from vault.core.principal import Caller
from vault.core.tracing import child_span
from vault.core.translate import library_error
from vault.documents.access import Permission
from vault.documents.content import IncomingContent
from vault.documents.service import DocumentService
from vault.signatures.schemas import ReportRead, SignedVersion, SignOptions
from vault.signatures.seals import AgencySealBook

__all__ = ("SignatureService",)

MAX_PDF_BYTES = 50 * 1024 * 1024


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def to_request(options: SignOptions, caller: Caller, default_level: str = "B-B") -> signing.SignRequest:
    stamp = None
    if options.visible is not None:
        x1, y1, x2, y2 = options.visible.box
        if x2 <= x1 or y2 <= y1:
            raise BadRequest("the stamp box must be [x1, y1, x2, y2] with x2 > x1 and y2 > y1")
        stamp = signing.VisibleStamp(page=options.visible.page, box=(x1, y1, x2, y2), text=options.visible.text)
    if options.certify and not caller.has_role("agency"):
        raise Forbidden("only agencies certify documents")
    return signing.SignRequest(
        level=signing.PadesLevel(options.level or default_level),
        field_name=options.field,
        reason=options.reason,
        location=options.location,
        stamp=stamp,
        certify=options.certify,
        existing_field_only=options.existing_field_only,
        new_fields=tuple(options.new_fields),
    )


def verified_identity(caller: Caller) -> signing.VerifiedIdentity:
    """Who the caller's token proves they are: the certificate's CN is the person's name (the `name` claim) or,
    from a provider that sends none, their handle, else the subject identifier; the SAN is `iss#sub` either way."""
    name = next((v.strip() for v in (caller.name, caller.handle, caller.subject) if v and v.strip()), "")
    try:
        return signing.VerifiedIdentity(name=name[:64], issuer=caller.issuer, subject=caller.subject, acr=caller.acr)
    except ValueError as exc:
        raise UnprocessableContent(f"your identity cannot be written into a certificate: {exc}") from exc


class SignatureService:
    """Citizens sign in their own name (a ten-minute certificate from the identity CA, one key per signature);
    agency officers sign with their agency's own seal. Verifies against the configured trust roots."""

    def __init__(
        self,
        documents: DocumentService,
        verifier: signing.VerificationPool,
        *,
        identity: signing.IdentitySigner | None,
        seals: AgencySealBook,
        db: Database,
        trail: AuditTrail,
        timestamping: bool,
    ) -> None:
        self._documents = documents
        self._verifier = verifier
        self._identity = identity
        self._seals = seals
        self._db = db
        self._trail = trail
        self._timestamping = timestamping

    @property
    def default_level(self) -> str:
        """B-T when a timestamp authority is configured, else B-B."""
        return "B-T" if self._timestamping else "B-B"

    @property
    def timestamping(self) -> bool:
        """Whether this deployment has a timestamp authority (so the levels above B-B are available)."""
        return self._timestamping

    async def sign(self, caller: Caller, document_id: uuid.UUID, options: SignOptions) -> SignedVersion:
        """Sign the current PDF version; the signed document becomes a new version (the original is kept).

        An agency officer seals with the agency's own seal; anyone else signs in their own name (at least B-T).
        """
        request = to_request(options, caller, self.default_level)
        sealing = caller.has_role("agency")
        if sealing and not caller.agency:
            raise Forbidden("only an officer acting for an agency can seal")
        if not sealing and self._identity is None:
            raise Conflict("this deployment has no identity CA (VAULT_IDENTITY_CA_CERT/KEY): people cannot sign")
        if (request.level.needs_timestamp or not sealing) and not self._timestamping:
            raise Conflict(
                f"{request.level} needs a timestamp authority and this deployment has none (VAULT_TSA_URL); "
                + ("sign at B-B or configure one" if sealing else "a personal signature needs one")
            )
        pdf, media_type = await self._documents.read_bytes(
            caller, document_id, permission=Permission.SIGN, action=AuditAction.DOCUMENT_SIGN, max_bytes=MAX_PDF_BYTES
        )
        if media_type != "application/pdf":
            raise UnprocessableContent("only PDF documents can be signed")
        details: dict[str, Detail] = {}
        try:
            with child_span("pdf.sign"):
                if sealing:
                    assert caller.agency is not None
                    signed = await self._seals.seal(caller.agency, pdf, request)
                    details["seal_sha256"] = await self._seals.fingerprint(caller.agency)
                else:
                    signed, details = await self._sign_as_person(caller, document_id, pdf, request)
        except signing.SigningError as exc:
            raise library_error(exc) from exc
        content = IncomingContent("application/pdf", _once(signed), len(signed))
        stored = await self._documents.add_version(
            caller, document_id, content, origin="signature", permission=Permission.SIGN, details=details
        )
        return SignedVersion(document_id=stored.id, version=stored.version, size=stored.size, sha256=stored.sha256)

    async def _sign_as_person(
        self, caller: Caller, document_id: uuid.UUID, pdf: bytes, request: signing.SignRequest
    ) -> tuple[bytes, dict[str, Detail]]:
        assert self._identity is not None
        identity = verified_identity(caller)

        async def log_certificate(der: bytes) -> None:
            # logged before its key signs anything: the identity CA issues nothing the log does not show
            cert = x509.load_der_x509_certificate(der)
            details: dict[str, Detail] = {
                "certificate_sha256": hashlib.sha256(der).hexdigest(),
                "serial": format(cert.serial_number, "x"),
                "not_before": cert.not_valid_before_utc.isoformat(),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "acr": identity.acr,
            }
            async with self._db.transaction() as session:
                event = await self._trail.event(
                    session,
                    AuditAction.CERTIFICATE_ISSUE,
                    Outcome.SUCCESS,
                    caller,
                    document_id=document_id,
                    details=details,
                )
                await self._trail.record(session, event)

        result = await self._identity.sign(pdf, identity, request, on_issue=log_certificate)
        return result.pdf, {"certificate_sha256": result.certificate_sha256}

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
            with child_span("pdf.verify"):
                report = await self._verifier.verify(pdf)
                xml = await self._verifier.etsi_report_xml(pdf) if etsi else None
        except signing.SigningError as exc:
            raise library_error(exc) from exc
        return ReportRead(signatures=report.signatures, notes=report.notes, etsi_reports=xml)
