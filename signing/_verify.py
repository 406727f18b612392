"""Verifying PDF signatures: pyHanko's classic validation and ETSI EN 319 102-1 LTA validation, per signature."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.report.tools import generate_report
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from ._certs import CertificateLike, to_asn1_all
from ._pdfio import ParsedPdf, open_reader
from ._report import AdesVerdict, SignatureReport, VerificationReport
from ._report_mapping import failed_report, signature_report, timestamp_report
from ._signature_fields import collect_signatures

__all__ = ("PdfVerifier",)

logger = logging.getLogger(__name__)

DEFAULT_MAX_PDF_BYTES = 50 * 1024 * 1024
_DOC_TIMESTAMP = "/DocTimeStamp"
_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


@dataclass(frozen=True)
class _Context:
    parsed: ParsedPdf
    dss: DocumentSecurityStore | None
    fetchers: AIOHttpFetcherBackend | None


class PdfVerifier:
    """Verifies every signature and document timestamp in a PDF against explicit trust roots.

    Documents are parsed strictly first and leniently if that fails (recorded in the report's notes), with
    pyHanko's decompression limits for untrusted input. Nothing is fetched from the network unless
    ``allow_fetching`` is set; validation material embedded in the document (DSS) is always used.
    Work runs in a worker thread with its own event loop so a large document never stalls the caller's loop.

    Args:
        trust_roots: Trust anchors. Required: an empty list would trust nothing.
        allow_fetching: Fetch OCSP responses, CRLs and issuer certificates named in the document.
        max_pdf_bytes: Largest document accepted.
    """

    def __init__(
        self,
        trust_roots: Sequence[CertificateLike],
        *,
        allow_fetching: bool = False,
        max_pdf_bytes: int = DEFAULT_MAX_PDF_BYTES,
    ) -> None:
        self._roots = to_asn1_all(trust_roots)
        if not self._roots:
            raise ValueError("trust_roots must not be empty")
        self._allow_fetching = allow_fetching
        self._max_pdf_bytes = max_pdf_bytes

    async def verify(self, pdf: bytes) -> VerificationReport:
        """Verify all signatures in `pdf`.

        Returns:
            The report; a document without signatures gives an empty report.

        Raises:
            InvalidPdf: The document cannot be parsed by either parser, or exceeds a limit.
        """
        return await asyncio.to_thread(asyncio.run, self._verify(pdf))

    async def etsi_report_xml(self, pdf: bytes) -> list[str]:
        """ETSI TS 119 102-2 validation reports (XML), one per signature (document timestamps excluded).

        Raises:
            InvalidPdf: The document cannot be parsed.
        """
        return await asyncio.to_thread(asyncio.run, self._etsi_reports(pdf))

    async def _verify(self, pdf: bytes) -> VerificationReport:
        parsed = open_reader(pdf, self._max_pdf_bytes)
        sigs, unreadable = collect_signatures(parsed.reader)
        async with contextlib.AsyncExitStack() as stack:
            fetchers = None
            if self._allow_fetching:
                session = await stack.enter_async_context(aiohttp.ClientSession(timeout=_HTTP_TIMEOUT))
                fetchers = AIOHttpFetcherBackend(session, per_request_timeout=10)
            ctx = _Context(parsed, _read_dss(parsed), fetchers)
            reports = [await self._one(ctx, sig, sigs) for sig in sigs] + unreadable
        notes = ("parsed leniently: the strict PDF parser refused this document",) if parsed.lenient else ()
        return VerificationReport(signatures=tuple(reports), notes=notes)

    async def _etsi_reports(self, pdf: bytes) -> list[str]:
        parsed = open_reader(pdf, self._max_pdf_bytes)
        ctx = _Context(parsed, _read_dss(parsed), None)
        out = []
        for sig in collect_signatures(parsed.reader)[0]:
            if sig.sig_object_type != _DOC_TIMESTAMP:
                # AdES validation and the report generator read the integrity info; neither computes it.
                sig.compute_integrity_info()  # type: ignore[no-untyped-call]
                result = await ades_lta_validation(sig, self._spec(ctx))
                out.append(generate_report(sig, result))
        return out

    async def _one(
        self, ctx: _Context, sig: EmbeddedPdfSignature, all_sigs: Sequence[EmbeddedPdfSignature]
    ) -> SignatureReport:
        try:
            if sig.sig_object_type == _DOC_TIMESTAMP:
                ts_status = await async_validate_pdf_timestamp(sig, validation_context=self._vc(ctx))
                return timestamp_report(sig, ts_status)
            status = await async_validate_pdf_signature(
                sig, signer_validation_context=self._vc(ctx), ts_validation_context=self._vc(ctx)
            )
            ades = await self._ades(ctx, sig)
            return signature_report(sig, status, ades, all_sigs, has_dss=ctx.dss is not None)
        except Exception:  # untrusted input: one broken signature must not hide the others
            logger.warning("signature %r could not be validated", _safe_field(sig), exc_info=True)
            return failed_report(sig)

    async def _ades(self, ctx: _Context, sig: EmbeddedPdfSignature) -> AdesVerdict | None:
        try:
            result = await ades_lta_validation(sig, self._spec(ctx))
        except Exception:  # the incubating AdES API can fail where classic validation succeeds
            logger.warning("AdES validation failed for %r", _safe_field(sig), exc_info=True)
            return None
        sub = result.ades_subindic
        passed = sub.status is AdESStatus.PASSED
        return AdesVerdict(indication=sub.status.name, subindication=None if passed else sub.standard_name)

    def _vc(self, ctx: _Context) -> ValidationContext:
        kwargs = {
            "trust_roots": self._roots,
            "allow_fetching": self._allow_fetching,
            "revocation_mode": "soft-fail",
            "fetcher_backend": ctx.fetchers,
        }
        if ctx.dss is not None:
            return ctx.dss.as_validation_context(kwargs)
        return ValidationContext(**kwargs)  # type: ignore[arg-type]

    def _spec(self, ctx: _Context) -> PdfSignatureValidationSpec:
        policy = CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=self._roots),
            revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy.from_legacy("soft-fail")),
        )
        gathering = RevocationInfoGatheringSpec(
            fetcher_backend=ctx.fetchers,
            online_fetching_rule=(
                RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
                if self._allow_fetching
                else RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
            certificate_fetching_rule=(
                CertificateFetchingRule.FOLLOW_ONLINE_RULE
                if self._allow_fetching
                else CertificateFetchingRule.NEVER_FETCH
            ),
        )
        return PdfSignatureValidationSpec(
            SignatureValidationSpec(cert_validation_policy=policy, revinfo_gathering_policy=gathering)
        )


def _read_dss(parsed: ParsedPdf) -> DocumentSecurityStore | None:
    try:
        return DocumentSecurityStore.read_dss(parsed.reader)
    except NoDSSFoundError:
        return None


def _safe_field(sig: EmbeddedPdfSignature) -> str:
    try:
        return str(sig.field_name)
    except Exception:  # a field without a usable /T
        return "?"
