"""Verifying PDF signatures: pyHanko's classic validation and ETSI EN 319 102-1 validation, per signature."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from ._ades import AdesRun, run_ades
from ._certs import CertificateLike, to_asn1_all
from ._errors import TooManySignatures, VerificationTimeout
from ._pdfio import ParsedPdf, open_reader
from ._policy import ades_spec, trust_manager
from ._qualification import qualify_signature, qualify_timestamp
from ._report import SignatureReport, VerificationReport
from ._report_mapping import failed_report, signature_report, timestamp_report
from ._signature_fields import collect_signatures
from ._trusted_list import TrustedList

if TYPE_CHECKING:
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

__all__ = ("DEFAULT_MAX_SIGNATURES", "DEFAULT_TIME_BUDGET", "PdfVerifier")

logger = logging.getLogger(__name__)

DEFAULT_MAX_PDF_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_SIGNATURES = 20
DEFAULT_TIME_BUDGET = 30.0
_DOC_TIMESTAMP = "/DocTimeStamp"
_HTTP_TOTAL_TIMEOUT = 30
_HTTP_CONNECT_TIMEOUT = 5


@dataclass(frozen=True)
class _Context:
    parsed: ParsedPdf
    dss: DocumentSecurityStore | None
    fetchers: AIOHttpFetcherBackend | None
    now: datetime
    deadline: float


class PdfVerifier:
    """Verifies every signature and document timestamp in a PDF against explicit trust roots.

    Documents are parsed strictly first and leniently if that fails (recorded in the report's notes), with
    pyHanko's decompression limits for untrusted input. Nothing is fetched from the network unless
    ``allow_fetching`` is set; validation material embedded in the document (DSS) is always used. Work runs in
    a worker thread with its own event loop; for untrusted callers run it in a :class:`VerificationPool`.

    Args:
        trust_roots: Trust anchors. Required: an empty list would trust nothing.
        allow_fetching: Fetch OCSP responses, CRLs and issuer certificates named in the document.
        max_pdf_bytes: Largest document accepted.
        max_signatures: Most signature fields (signatures and document timestamps) a document may have;
            more is refused with :class:`TooManySignatures` before any is validated.
        time_budget: Seconds one verification may take (checked between signatures in this process; a
            :class:`VerificationPool` enforces it strictly by replacing the worker).
        trusted_list: An EU trusted list (ETSI TS 119 612). Its qualified services become trust anchors in
            addition to ``trust_roots`` (within the periods the list grants them), and every report entry
            gains the qualified status of the signer and the timestamps under it.
    """

    def __init__(
        self,
        trust_roots: Sequence[CertificateLike],
        *,
        allow_fetching: bool = False,
        max_pdf_bytes: int = DEFAULT_MAX_PDF_BYTES,
        max_signatures: int = DEFAULT_MAX_SIGNATURES,
        time_budget: float = DEFAULT_TIME_BUDGET,
        trusted_list: TrustedList | None = None,
    ) -> None:
        self._roots = to_asn1_all(trust_roots)
        if not self._roots:
            raise ValueError("trust_roots must not be empty")
        if max_signatures < 1 or time_budget <= 0:
            raise ValueError("max_signatures and time_budget must be positive")
        self.allow_fetching = allow_fetching
        self.max_pdf_bytes = max_pdf_bytes
        self.max_signatures = max_signatures
        self.time_budget = time_budget
        self.trusted_list = trusted_list
        self._trust = trust_manager(self._roots, trusted_list)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as DER roots and settings (worker processes rebuild the verifier)."""
        kwargs = {
            "allow_fetching": self.allow_fetching,
            "max_pdf_bytes": self.max_pdf_bytes,
            "max_signatures": self.max_signatures,
            "time_budget": self.time_budget,
            "trusted_list": self.trusted_list,
        }
        return (_rebuild, ([r.dump() for r in self._roots], kwargs))

    async def verify(self, pdf: bytes, *, validation_time: datetime | None = None) -> VerificationReport:
        """Verify all signatures in `pdf`, as of `validation_time` (default: now).

        Returns:
            The report; a document without signatures gives an empty report.

        Raises:
            InvalidPdf: The document cannot be parsed by either parser, or exceeds a limit.
            TooManySignatures: More signature fields than ``max_signatures``.
            VerificationTimeout: The time budget ran out.
        """
        return await asyncio.to_thread(self.verify_blocking, pdf, validation_time)

    async def etsi_report_xml(self, pdf: bytes, *, validation_time: datetime | None = None) -> list[str]:
        """ETSI TS 119 102-2 validation reports (XML), one per signature (document timestamps excluded).

        Never fails on an odd signature: one that pyHanko cannot validate gets a report with an INDETERMINATE
        indication.

        Raises:
            InvalidPdf: The document cannot be parsed.
        """
        return await asyncio.to_thread(self.etsi_report_xml_blocking, pdf, validation_time)

    def verify_blocking(self, pdf: bytes, validation_time: datetime | None = None) -> VerificationReport:
        """:meth:`verify` for worker threads and processes (runs its own event loop)."""
        report: VerificationReport = asyncio.run(self._bounded(self._verify(pdf, validation_time or datetime.now(UTC))))
        return report

    def etsi_report_xml_blocking(self, pdf: bytes, validation_time: datetime | None = None) -> list[str]:
        """:meth:`etsi_report_xml` for worker threads and processes."""
        return asyncio.run(self._bounded(self._etsi_reports(pdf, validation_time or datetime.now(UTC))))

    async def _bounded(self, work: Any) -> Any:
        try:
            async with asyncio.timeout(self.time_budget):
                return await work
        except TimeoutError as exc:
            raise VerificationTimeout() from exc

    def _open(self, pdf: bytes) -> ParsedPdf:
        parsed = open_reader(pdf, self.max_pdf_bytes)
        count = sum(1 for _ in enumerate_sig_fields(parsed.reader, filled_status=True))
        if count > self.max_signatures:
            raise TooManySignatures(f"The document has {count} signatures; at most {self.max_signatures} are verified.")
        return parsed

    async def _verify(self, pdf: bytes, now: datetime) -> VerificationReport:
        parsed = self._open(pdf)
        sigs, unreadable = collect_signatures(parsed.reader)
        async with contextlib.AsyncExitStack() as stack:
            fetchers = None
            if self.allow_fetching:  # aiohttp costs seconds to import: only when fetching
                import aiohttp
                from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

                timeout = aiohttp.ClientTimeout(total=_HTTP_TOTAL_TIMEOUT, connect=_HTTP_CONNECT_TIMEOUT)
                session = await stack.enter_async_context(aiohttp.ClientSession(timeout=timeout))
                fetchers = AIOHttpFetcherBackend(session, per_request_timeout=10)
            ctx = _Context(parsed, _read_dss(parsed), fetchers, now, time.monotonic() + self.time_budget)
            reports = [await self._one(ctx, sig, sigs) for sig in sigs] + unreadable
        notes = ("parsed leniently: the strict PDF parser refused this document",) if parsed.lenient else ()
        return VerificationReport(signatures=tuple(reports), notes=notes)

    async def _etsi_reports(self, pdf: bytes, now: datetime) -> list[str]:
        from ._etsi_xml import etsi_report  # the report generator's XML bindings cost seconds to import

        parsed = self._open(pdf)
        sigs = collect_signatures(parsed.reader)[0]
        return [
            await etsi_report(sig, sigs, ades_spec(self._trust, None, allow_fetching=False), now)
            for sig in sigs
            if sig.sig_object_type != _DOC_TIMESTAMP
        ]

    async def _one(
        self, ctx: _Context, sig: EmbeddedPdfSignature, all_sigs: Sequence[EmbeddedPdfSignature]
    ) -> SignatureReport:
        # Validation rarely yields to the loop when nothing is fetched: check the budget between signatures too.
        await asyncio.sleep(0)
        if time.monotonic() > ctx.deadline:
            raise VerificationTimeout()
        try:
            if sig.sig_object_type == _DOC_TIMESTAMP:
                ts_status = await async_validate_pdf_timestamp(sig, validation_context=self._vc(ctx, "soft-fail"))
                checked = await self._timestamp_revocation_checked(ctx, sig)
                report = timestamp_report(sig, ts_status, checked, ctx.now)
                return (
                    report
                    if self.trusted_list is None
                    else qualify_timestamp(report, self.trusted_list, ts_status, ctx.now)
                )
            status = await async_validate_pdf_signature(
                sig,
                signer_validation_context=self._vc(ctx, "soft-fail"),
                ts_validation_context=self._vc(ctx, "soft-fail"),
            )
            run = await self._ades(ctx, sig, all_sigs)
            report = signature_report(sig, status, run, all_sigs, ctx.now)
            if self.trusted_list is not None:
                report = qualify_signature(report, self.trusted_list, status, ctx.now)
            return report
        except Exception as exc:  # untrusted input: one broken signature must not hide the others
            logger.warning("signature %r could not be validated: %s", _safe_field(sig), _one_line(exc))
            return failed_report(sig)

    async def _timestamp_revocation_checked(self, ctx: _Context, sig: EmbeddedPdfSignature) -> bool:
        try:
            status = await async_validate_pdf_timestamp(sig, validation_context=self._vc(ctx, "require"))
        except Exception as exc:  # revocation data missing or unreachable: the status stays unknown
            logger.info("document timestamp %r: revocation not established: %s", _safe_field(sig), _one_line(exc))
            return False
        return bool(status.trusted)

    async def _ades(
        self, ctx: _Context, sig: EmbeddedPdfSignature, all_sigs: Sequence[EmbeddedPdfSignature]
    ) -> AdesRun | None:
        try:
            spec = ades_spec(self._trust, ctx.fetchers, allow_fetching=self.allow_fetching)
            return await run_ades(sig, all_sigs, spec, ctx.now)
        except Exception as exc:  # the incubating AdES API can fail where classic validation succeeds
            logger.warning("AdES validation failed for %r: %s", _safe_field(sig), _one_line(exc))
            return None

    def _vc(self, ctx: _Context, mode: str) -> ValidationContext:
        kwargs = {
            "trust_manager": self._trust,
            "allow_fetching": self.allow_fetching,
            "revocation_mode": mode,
            "fetcher_backend": ctx.fetchers,
            "moment": ctx.now,
        }
        if ctx.dss is not None:
            return ctx.dss.as_validation_context(kwargs)
        return ValidationContext(**kwargs)  # type: ignore[arg-type]


def _rebuild(roots: list[bytes], kwargs: dict[str, Any]) -> PdfVerifier:
    return PdfVerifier(roots, **kwargs)


def _read_dss(parsed: ParsedPdf) -> DocumentSecurityStore | None:
    try:
        return DocumentSecurityStore.read_dss(parsed.reader)
    except NoDSSFoundError:
        return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


def _safe_field(sig: EmbeddedPdfSignature) -> str:
    try:
        return str(sig.field_name)
    except Exception:  # a field without a usable /T
        return "?"
