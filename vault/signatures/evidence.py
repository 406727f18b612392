"""Signing evidence of a signed version: who (the identity the certificate names), when (the timestamp), what
(the document's hash), the certificate, and the audit log's receipt of the signing event (its inclusion proof
against a signed checkpoint). A separate file: appending anything to the signed PDF would break it."""

from __future__ import annotations

import contextlib
import uuid
from typing import Literal

from cryptography import x509

import signing
from vault.audit.actions import AuditAction
from vault.audit.errors import AuditNotFound, AuditUnavailable
from vault.audit.receipts import build_receipt
from vault.audit.recorder import AuditRecorder
from vault.core.database import Database
from vault.core.errors import AuditUnavailableError, Conflict, NotFound, PayloadTooLarge, UnprocessableContent
from vault.core.principal import Caller
from vault.core.translate import library_error
from vault.documents.access import Permission
from vault.documents.service import DocumentService

__all__ = ("EvidenceFormat", "EvidenceService")

EvidenceFormat = Literal["json", "pdf"]


def _identity(evidence: signing.SigningEvidence) -> signing.VerifiedIdentity | None:
    """The identity an identity certificate names (`None` for a seal: its certificate names an organisation)."""
    cert = x509.load_pem_x509_certificate(evidence.signer["pem"].encode())
    with contextlib.suppress(x509.ExtensionNotFound):
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
        if any(p.policy_identifier == signing.IDENTITY_POLICY_OID for p in policies):
            return signing.identity_of(cert)
    return None


class EvidenceService:
    """Builds the evidence file of a signed version."""

    def __init__(self, documents: DocumentService, recorder: AuditRecorder, db: Database, max_bytes: int) -> None:
        self._documents = documents
        self._recorder = recorder
        self._db = db
        self._max_bytes = max_bytes

    async def evidence(self, caller: Caller, document_id: uuid.UUID, number: int) -> signing.SigningEvidence:
        """The evidence of version `number` (it must be a signature's result) of a document the caller may view."""
        version = next((v for v in await self._documents.versions(caller, document_id) if v.number == number), None)
        if version is None:
            raise NotFound("the document has no such version")
        if version.origin != "signature":
            raise NotFound("this version was not made by a signature; only signed versions have evidence")
        if version.size > self._max_bytes:
            raise PayloadTooLarge("the version is too large for evidence here")
        content = await self._documents.open_content(
            caller, document_id, version=number, permission=Permission.VIEW, action=AuditAction.DOCUMENT_VERIFY
        )
        assert content is not None  # no ETag was given
        pdf = b"".join([piece async for piece in content.chunks])
        receipt = await self._receipt(document_id, version.id)
        try:
            evidence = await signing.build_evidence(pdf, inclusion_proof=receipt)
        except signing.SigningError as exc:
            raise library_error(exc) from exc
        identity = _identity(evidence)
        if identity is None:
            return evidence
        return await signing.build_evidence(pdf, identity=identity, inclusion_proof=receipt, field=evidence.field)

    async def _receipt(self, document_id: uuid.UUID, version_id: uuid.UUID) -> dict[str, object]:
        """The receipt of the audit entry that stored the signed version."""
        try:
            log = await self._recorder.log()
            with contextlib.suppress(AuditUnavailable):
                await self._recorder.integrator.settle(within=2.0)
            async with self._db.transaction() as session:
                start = 0
                while True:
                    entries = await log.entries(
                        session, start=start, limit=1000, action=AuditAction.DOCUMENT_VERSION.value,
                        document_id=document_id,
                    )  # fmt: skip
                    for entry in entries:
                        if entry.record["objects"].get("version") == str(version_id):
                            return await build_receipt(log, session, entry)
                    if len(entries) < 1000:
                        raise Conflict("the signing event is not in the audit log yet; try again in a moment")
                    start = entries[-1].seq + 1
        except AuditNotFound as exc:
            raise Conflict(exc.detail) from exc
        except AuditUnavailable as exc:
            raise AuditUnavailableError() from exc


def render(evidence: signing.SigningEvidence, fmt: EvidenceFormat) -> tuple[bytes, str]:
    """The evidence as (bytes, media type)."""
    if fmt == "pdf":
        return evidence.to_pdf(), "application/pdf"
    if fmt == "json":
        return evidence.to_json(), "application/json"
    raise UnprocessableContent("format is json or pdf")
