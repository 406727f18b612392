"""Agency seals: one key and certificate per agency, and the check that a document is sealed by a given agency.

Issuance must accept a document only when it carries a cryptographically intact signature by the issuing
agency's *registered* certificate (SHA-256 fingerprint match, not a name match) and nothing but validation
material or document timestamps was added after it. Whether that certificate chains to a trust root is the
verifier's question (:class:`PdfVerifier`); this answers "was it this agency?".
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from ._certs import CertificateLike, fingerprint, to_asn1
from ._errors import SigningError
from ._model import SignRequest
from ._pdfio import MALFORMED_PDF_ERRORS, open_reader
from ._sign_service import DEFAULT_MAX_PDF_BYTES, PdfSigningService
from ._signers import DocumentSigner

__all__ = ("AgencySeals", "SealCheck", "UnknownAgency", "check_sealed_by")


class UnknownAgency(SigningError):
    """No seal is registered for the agency."""

    default_detail = "No seal is registered for this agency."


@dataclass(frozen=True)
class SealCheck:
    """Whether a document is sealed by one certificate.

    Attributes:
        sealed: An intact, valid signature by the certificate covers the document (later changes, if any, are
            only validation material and document timestamps).
        field: The signature field of that signature, when found.
        reason: Why not, in words a caller can show (empty when sealed).
    """

    sealed: bool
    field: str | None = None
    reason: str = ""


async def check_sealed_by(
    pdf: bytes, certificate: CertificateLike | str, *, max_pdf_bytes: int = DEFAULT_MAX_PDF_BYTES
) -> SealCheck:
    """Check that the newest signature of `pdf` is by `certificate` and nothing but LTA material followed it.

    Args:
        pdf: The document.
        certificate: The registered certificate, or its SHA-256 fingerprint (hex).
        max_pdf_bytes: Largest document accepted.

    Raises:
        InvalidPdf: The document cannot be parsed.
    """
    expected = certificate.lower() if isinstance(certificate, str) else fingerprint(to_asn1(certificate))
    parsed = await asyncio.to_thread(open_reader, pdf, max_pdf_bytes)
    signatures = parsed.reader.embedded_regular_signatures
    if not signatures:
        return SealCheck(False, reason="the document is not signed")
    return await _check_newest(signatures[-1], expected)


async def _check_newest(newest: EmbeddedPdfSignature, expected: str) -> SealCheck:
    try:
        signer = newest.signer_cert
    except MALFORMED_PDF_ERRORS:
        return SealCheck(False, newest.field_name, "the newest signature cannot be read")
    if not hmac.compare_digest(fingerprint(signer), expected):
        return SealCheck(False, newest.field_name, "the newest signature is not by the agency's registered seal")
    # Trust is not the question here: the registered certificate itself is the only anchor, nothing is fetched.
    context = ValidationContext(trust_roots=[signer], allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = await async_validate_pdf_signature(newest, signer_validation_context=context)
    except MALFORMED_PDF_ERRORS:
        return SealCheck(False, newest.field_name, "the agency's signature cannot be validated")
    if not (status.intact and status.valid):
        return SealCheck(False, newest.field_name, "the agency's signature does not match the document")
    level = status.modification_level
    if level is None or level > ModificationLevel.LTA_UPDATES or not status.docmdp_ok:
        return SealCheck(False, newest.field_name, "the document was changed after the agency sealed it")
    return SealCheck(True, newest.field_name)


class AgencySeals:
    """The seals of the agencies: a signing service per agency, sharing TSA, trust roots and fetching settings.

    Args:
        signers: Agency name to its seal's signer back end (key file, PKCS#12 or PKCS#11).
        tsa_url: RFC 3161 timestamp authority for B-T and above.
        trust_roots: Trust anchors for the signer checks.
        allow_fetching: Check seal certificates online (OCSP/CRL) before signing.
        timestamper: A timestamp client instead of an HTTP one for ``tsa_url`` (see :class:`PdfSigningService`).
        known_crls: CRLs the service has without fetching (see :class:`PdfSigningService`).
    """

    def __init__(
        self,
        signers: Mapping[str, DocumentSigner],
        *,
        tsa_url: str | None,
        trust_roots: Sequence[CertificateLike],
        allow_fetching: bool = True,
        timestamper: TimeStamper | None = None,
        known_crls: Callable[[], Sequence[bytes]] | None = None,
    ) -> None:
        self._signers = dict(signers)
        self._services = {
            agency: PdfSigningService(
                signer,
                tsa_url=tsa_url,
                trust_roots=trust_roots,
                allow_fetching=allow_fetching,
                timestamper=timestamper,
                known_crls=known_crls,
            )
            for agency, signer in self._signers.items()
        }

    @property
    def agencies(self) -> tuple[str, ...]:
        """The agencies with a registered seal."""
        return tuple(sorted(self._signers))

    def signer(self, agency: str) -> DocumentSigner:
        """The seal's signer back end of `agency`.

        Raises:
            UnknownAgency: No seal is registered for it.
        """
        try:
            return self._signers[agency]
        except KeyError:
            raise UnknownAgency() from None

    def fingerprint(self, agency: str) -> str:
        """SHA-256 fingerprint (hex) of the agency's registered seal certificate."""
        return fingerprint(self.signer(agency).certificate)

    async def seal(self, agency: str, pdf: bytes, request: SignRequest) -> bytes:
        """Sign `pdf` with `agency`'s seal (see :meth:`PdfSigningService.sign` for the errors).

        Raises:
            UnknownAgency: No seal is registered for it.
        """
        self.signer(agency)
        return await self._services[agency].sign(pdf, request)

    async def check(self, agency: str, pdf: bytes) -> SealCheck:
        """Whether `pdf` is sealed by `agency`'s registered certificate (see :func:`check_sealed_by`).

        Raises:
            UnknownAgency: No seal is registered for it.
            InvalidPdf: The document cannot be parsed.
        """
        return await check_sealed_by(pdf, self.fingerprint(agency))

    async def aclose(self) -> None:
        """Close the HTTP sessions (the signer back ends belong to the caller: close them yourself)."""
        for service in self._services.values():
            await service.aclose()
