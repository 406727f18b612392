"""Signing PDFs at PAdES baseline levels with pyHanko's async API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from io import BytesIO

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError as HankoSigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from ._certs import CertificateLike, to_asn1_all
from ._errors import (
    CertificateProblem,
    InvalidPdf,
    SignatureFieldError,
    SignerRevoked,
    SignerUnavailable,
    TimestampUnavailable,
)
from ._model import PadesLevel, SignRequest, VisibleStamp
from ._pdfio import MALFORMED_PDF_ERRORS, open_reader, open_writer
from ._signers import DocumentSigner

__all__ = ("PdfSigningService",)

DEFAULT_MAX_PDF_BYTES = 50 * 1024 * 1024
_NO_REVINFO = "The signing certificate's revocation status cannot be checked right now."
_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)


class PdfSigningService:
    """Signs PDFs with one configured signer back end.

    Before signing, the signer's certificate is validated against ``trust_roots`` (chain, validity, key usage
    and, when ``allow_fetching``, revocation via OCSP/CRL); a good result is remembered for
    ``signer_check_ttl`` seconds. A revoked or otherwise unacceptable signer is refused.

    Args:
        signer: The signer back end; ``None`` for a service that only signs with one-off signers
            (:meth:`sign_with`, used by :class:`IdentitySigner`) or renews archival timestamps.
        tsa_url: RFC 3161 timestamp authority; required for B-T and above.
        trust_roots: Trust anchors for the signer check and for gathering B-LT/B-LTA validation material.
        allow_fetching: Fetch revocation information (and certificates) online while signing.
        max_pdf_bytes: Largest input document accepted.
        signer_check_ttl: Seconds a successful signer check stays valid.
        unsafe_skip_signer_check: Sign without checking the signer's certificate (tests and repair tools only:
            it can produce signatures by revoked or expired certificates).
        timestamper: The timestamp client to use instead of an HTTP one for ``tsa_url`` (a service that is its
            own TSA answers in-process); ``tsa_url`` stays the TSA's name for reports.
        known_crls: Returns CRLs (DER) the service has without fetching (the ones it publishes itself): the
            signer check uses them, and B-LT embeds them, before anything is fetched over HTTP.
    """

    def __init__(
        self,
        signer: DocumentSigner | None,
        *,
        tsa_url: str | None,
        trust_roots: Sequence[CertificateLike],
        allow_fetching: bool = True,
        max_pdf_bytes: int = DEFAULT_MAX_PDF_BYTES,
        signer_check_ttl: float = 300.0,
        unsafe_skip_signer_check: bool = False,
        timestamper: timestamps.TimeStamper | None = None,
        known_crls: Callable[[], Sequence[bytes]] | None = None,
    ) -> None:
        self._signer = signer
        self._known_crls = known_crls
        self._tsa_url = tsa_url
        self._fixed_timestamper = timestamper
        self._trust_roots = to_asn1_all(trust_roots)
        if not self._trust_roots and not unsafe_skip_signer_check:
            raise ValueError("trust_roots must not be empty: an empty trust list validates nothing")
        self._allow_fetching = allow_fetching
        self._max_pdf_bytes = max_pdf_bytes
        self._check_ttl = signer_check_ttl
        self._skip_check = unsafe_skip_signer_check
        self._checked_until = 0.0
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # One long-lived session for the TSA and revocation fetching; created lazily inside the running loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=_HTTP_TIMEOUT)
        return self._session

    def _validation_context(self, signer: DocumentSigner | None = None) -> ValidationContext:
        signer = signer or self._signer
        return ValidationContext(
            fetcher_backend=AIOHttpFetcherBackend(self._http(), per_request_timeout=10),
            trust_roots=self._trust_roots,
            other_certs=list(signer.chain) if signer is not None else [],
            allow_fetching=self._allow_fetching,
            revocation_mode="hard-fail" if self._allow_fetching else "soft-fail",
            crls=list(self._known_crls()) if self._known_crls is not None else [],
        )

    async def check_signer(self) -> None:
        """Validate the signer's certificate now (chain, validity, key usage, revocation).

        Raises:
            SignerRevoked: The certificate or an issuer is revoked.
            CertificateProblem: The certificate is expired, untrusted or not meant for signing.
        """
        if self._signer is None:
            raise SignerUnavailable("No signer is configured.")
        validator = CertificateValidator(
            self._signer.certificate,
            intermediate_certs=list(self._signer.chain),
            validation_context=self._validation_context(),
        )
        try:
            await validator.async_validate_usage({"non_repudiation"})  # type: ignore[no-untyped-call]
        except RevokedError as exc:
            raise SignerRevoked() from exc
        except InsufficientRevinfoError as exc:
            raise SignerUnavailable(_NO_REVINFO) from exc
        except (PathBuildingError, PathValidationError, ValidationError) as exc:
            raise CertificateProblem() from exc
        self._checked_until = time.monotonic() + self._check_ttl

    async def sign(self, pdf: bytes, request: SignRequest) -> bytes:
        """Sign `pdf` as `request` says and return the signed document (an incremental update).

        Raises:
            InvalidPdf: The input cannot be parsed or exceeds the limits.
            TimestampUnavailable: A timestamp was needed and the TSA failed; no signature was produced.
            SignerRevoked: The signer's certificate is revoked.
            CertificateProblem: The signer's certificate is not acceptable.
            SignerUnavailable: The key could not be used, or its revocation status cannot be checked now.
            SignatureFieldError: The document does not allow this signature (field missing or already signed,
                document locked by a certification).
        """
        if self._signer is None:
            raise SignerUnavailable("No signer is configured.")
        self._require_tsa(request)
        if not self._skip_check and time.monotonic() >= self._checked_until:
            await self.check_signer()
        return await self._sign(self._signer, pdf, request, self._timestamper())

    async def sign_with(
        self,
        signer: DocumentSigner,
        pdf: bytes,
        request: SignRequest,
        timestamper: timestamps.TimeStamper | None = None,
    ) -> bytes:
        """Sign with a one-off signer (a freshly issued identity certificate) without the cached signer check.

        Args:
            signer: The signer to use for this document only.
            pdf: The document.
            request: What to produce.
            timestamper: The timestamp client to use (default: one for the configured TSA).

        Raises:
            The same errors as :meth:`sign`.
        """
        self._require_tsa(request)
        return await self._sign(signer, pdf, request, timestamper or self._timestamper())

    def _require_tsa(self, request: SignRequest) -> None:
        if request.level.needs_timestamp and not (self._tsa_url or self._fixed_timestamper):
            raise TimestampUnavailable(f"{request.level} needs a timestamp authority and none is configured.")

    async def _sign(
        self, signer: DocumentSigner, pdf: bytes, request: SignRequest, timestamper: timestamps.TimeStamper | None
    ) -> bytes:
        writer = await asyncio.to_thread(open_writer, pdf, self._max_pdf_bytes)
        _check_stamp_page(writer, request)
        for name in request.new_fields:
            _add_empty_field(writer, name)
        # A new field needs a name; with existing_field_only and no name pyHanko picks the only empty field.
        field_name = request.field_name
        if field_name is None and not request.existing_field_only:
            field_name = f"Signature-{uuid.uuid4().hex[:12]}"
        pdf_signer = signers.PdfSigner(
            self._metadata(request, field_name, signer),
            signer=signer.pyhanko_signer,
            timestamper=timestamper if request.level.needs_timestamp else None,
            stamp_style=_stamp_style(request) if request.stamp is not None else None,
            new_field_spec=_field_spec(request, field_name),
        )
        out = BytesIO()
        try:
            await pdf_signer.async_sign_pdf(writer, existing_fields_only=request.existing_field_only, output=out)
        except (TimestampRequestError, aiohttp.ClientError, TimeoutError) as exc:
            raise TimestampUnavailable() from exc
        except HankoSigningError as exc:
            raise _map_signing_error(exc) from exc
        except signer.backend_errors as exc:
            raise SignerUnavailable() from exc
        except MALFORMED_PDF_ERRORS as exc:
            raise InvalidPdf("The document's structure could not be signed.") from exc
        return out.getvalue()

    def _metadata(
        self, request: SignRequest, field_name: str | None, signer: DocumentSigner
    ) -> signers.PdfSignatureMetadata:
        lt = request.level.embeds_validation_info
        return signers.PdfSignatureMetadata(
            field_name=field_name,
            reason=request.reason,
            location=request.location,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            certify=request.certify,
            docmdp_permissions=MDPPerm.FILL_FORMS,
            embed_validation_info=lt,
            use_pades_lta=request.level is PadesLevel.B_LTA,
            validation_context=self._validation_context(signer) if lt else None,
        )

    def _timestamper(self) -> timestamps.TimeStamper | None:
        if self._fixed_timestamper is not None:
            return self._fixed_timestamper
        if self._tsa_url is None:
            return None
        return timestamps.HTTPTimeStamper(self._tsa_url, session=self._http())

    @property
    def tsa_url(self) -> str | None:
        """The configured timestamp authority."""
        return self._tsa_url

    def http_session(self) -> aiohttp.ClientSession:
        """The service's long-lived HTTP session (TSA and revocation fetching); closed by :meth:`aclose`."""
        return self._http()

    async def renew_archival_timestamp(self, pdf: bytes) -> bytes:
        """Add a new document timestamp to a B-LTA document (validation material for the previous one first).

        The previous timestamp is validated against the trust roots and its certificates and revocation
        information are added to the DSS, then a new document timestamp covers everything.

        Raises:
            InvalidPdf: The input cannot be parsed or exceeds the limits.
            TimestampUnavailable: No TSA is configured, or it failed; nothing was changed.
            CertificateProblem: The previous timestamp cannot be validated (untrusted, expired, revoked).
        """
        timestamper = self._timestamper()
        if timestamper is None:
            raise TimestampUnavailable("Renewing an archival timestamp needs a timestamp authority.")
        reader = (await asyncio.to_thread(open_reader, pdf, self._max_pdf_bytes)).reader
        out = BytesIO()
        try:
            await signers.PdfTimeStamper(timestamper).async_update_archival_timestamp_chain(
                reader, self._validation_context(), in_place=False, output=out
            )
        except (TimestampRequestError, aiohttp.ClientError, TimeoutError) as exc:
            raise TimestampUnavailable() from exc
        except (PathBuildingError, PathValidationError, ValidationError) as exc:
            raise CertificateProblem("The previous document timestamp cannot be validated.") from exc
        except MALFORMED_PDF_ERRORS as exc:
            raise InvalidPdf("The document's structure could not be timestamped.") from exc
        return out.getvalue()

    async def aclose(self) -> None:
        """Close the HTTP session used for the TSA and fetching (the signer back end belongs to the caller)."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _map_signing_error(exc: HankoSigningError) -> Exception:
    cause = exc.__cause__
    if isinstance(cause, TimestampRequestError | aiohttp.ClientError | TimeoutError):
        return TimestampUnavailable()
    if isinstance(cause, RevokedError):
        return SignerRevoked()
    if isinstance(cause, InsufficientRevinfoError):
        return SignerUnavailable(_NO_REVINFO)
    if isinstance(cause, PathBuildingError | PathValidationError):
        return CertificateProblem()
    # pyHanko refuses requests that do not fit the document: missing, taken or locked fields, DocMDP locks.
    return SignatureFieldError()


def _check_stamp_page(writer: IncrementalPdfFileWriter, request: SignRequest) -> None:
    if request.stamp is None:
        return
    pages = int(writer.root["/Pages"].get("/Count", 0))
    if not 0 <= request.stamp.page < pages:
        raise SignatureFieldError(f"The document has no page {request.stamp.page} for the stamp.")


def _add_empty_field(writer: IncrementalPdfFileWriter, name: str) -> None:
    try:
        fields.append_signature_field(writer, SigFieldSpec(sig_field_name=name))
    except (HankoSigningError, PdfError) as exc:  # a field of that name already exists
        raise SignatureFieldError(f"The signature field {name!r} cannot be created.") from exc


def _field_spec(request: SignRequest, field_name: str | None) -> SigFieldSpec | None:
    if request.existing_field_only or field_name is None:
        return None
    stamp = request.stamp
    if stamp is None:
        return SigFieldSpec(sig_field_name=field_name)
    return SigFieldSpec(sig_field_name=field_name, on_page=stamp.page, box=stamp.box)


def _stamp_style(request: SignRequest) -> TextStampStyle:
    stamp: VisibleStamp | None = request.stamp
    assert stamp is not None
    if stamp.text is not None:
        text = stamp.text.replace("%", "%%")
    else:
        text = "Digitally signed by %(signer)s\n%(ts)s"
        if request.reason:
            text += "\nReason: " + request.reason.replace("%", "%%")
    return TextStampStyle(stamp_text=text)
