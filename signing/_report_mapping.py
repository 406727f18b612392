"""Turning pyHanko status objects into our frozen report entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    ModificationInfo,
    PdfSignatureStatus,
    TimestampSignatureStatus,
)

from ._certs import fingerprint
from ._report import AdesVerdict, SignatureKind, SignatureReport, SignerIdentity, TimestampInfo

__all__ = ("failed_report", "signature_report", "timestamp_report", "unreadable_report")

_PADES_SUBFILTER = "/ETSI.CAdES.detached"


def _identity(sig: EmbeddedPdfSignature) -> SignerIdentity | None:
    try:
        cert = sig.signer_cert
        return SignerIdentity(
            subject=cert.subject.human_friendly,
            issuer=cert.issuer.human_friendly,
            serial=format(cert.serial_number, "x"),
            sha256_fingerprint=fingerprint(cert),
        )
    except Exception:  # a CMS blob without a usable signer certificate
        return None


def _field(sig: EmbeddedPdfSignature) -> str:
    try:
        return str(sig.field_name)
    except Exception:  # a field without a usable /T
        return ""


def _ts_info(ts: TimestampSignatureStatus | None) -> TimestampInfo | None:
    if ts is None:
        return None
    return TimestampInfo(time=ts.timestamp, trusted=bool(ts.intact and ts.valid and ts.trusted))


def _modifications(status: ModificationInfo) -> tuple[str | None, str | None]:
    coverage = status.coverage.name if status.coverage is not None else None
    level = status.modification_level
    return coverage, (level.name if level is not None else None)


def _pades_level(
    sig: EmbeddedPdfSignature, status: PdfSignatureStatus, all_sigs: Sequence[EmbeddedPdfSignature], has_dss: bool
) -> str | None:
    if sig.sig_object.get("/SubFilter") != _PADES_SUBFILTER:
        return None
    if status.timestamp_validity is None:
        return "B-B"
    if not has_dss:
        return "B-T"
    later_doc_ts = any(
        other.sig_object_type == "/DocTimeStamp" and other.signed_revision > sig.signed_revision
        for other in all_sigs
    )
    return "B-LTA" if later_doc_ts else "B-LT"


def _problems(status: PdfSignatureStatus | DocumentTimestampStatus) -> tuple[str, ...]:
    problems = []
    if not status.intact:
        problems.append("the signed content was changed after signing")
    elif not status.valid:
        problems.append("the cryptographic signature is invalid")
    if status.revoked:
        problems.append("the signing certificate is revoked")
    elif status.trust_problem_indic is not None:
        problems.append(f"certificate not trusted: {status.trust_problem_indic.standard_name}")
    if status.docmdp_ok is False:
        problems.append("the document was modified in a way the signature does not allow")
    return tuple(problems)


def signature_report(
    sig: EmbeddedPdfSignature,
    status: PdfSignatureStatus,
    ades: AdesVerdict | None,
    all_sigs: Sequence[EmbeddedPdfSignature],
    *,
    has_dss: bool,
) -> SignatureReport:
    """Report on an ordinary signature from its classic status and AdES verdict."""
    ts = _ts_info(status.timestamp_validity)
    signing_time: datetime | None = ts.time if ts is not None else status.signer_reported_dt
    coverage, modifications = _modifications(status)
    return SignatureReport(
        field=_field(sig),
        kind="signature",
        signer=_identity(sig),
        signing_time=signing_time,
        timestamp=ts,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revoked=status.revoked,
        coverage=coverage,
        modifications=modifications,
        docmdp_ok=status.docmdp_ok,
        pades_level=_pades_level(sig, status, all_sigs, has_dss),
        bottom_line=status.bottom_line,
        summary=status.summary(),
        ades=ades,
        problems=_problems(status),
    )


def timestamp_report(sig: EmbeddedPdfSignature, status: DocumentTimestampStatus) -> SignatureReport:
    """Report on a document timestamp (its "signer" is the timestamp authority)."""
    coverage, modifications = _modifications(status)
    ok = bool(status.intact and status.valid and status.trusted)
    return SignatureReport(
        field=_field(sig),
        kind="document_timestamp",
        signer=_identity(sig),
        signing_time=status.timestamp,
        timestamp=TimestampInfo(time=status.timestamp, trusted=ok),
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revoked=status.revoked,
        coverage=coverage,
        modifications=modifications,
        docmdp_ok=status.docmdp_ok,
        pades_level=None,
        bottom_line=ok and status.docmdp_ok is not False,
        summary=status.summary(),
        ades=None,
        problems=_problems(status),
    )


def failed_report(sig: EmbeddedPdfSignature) -> SignatureReport:
    """Report on a signature that could not be validated (malformed CMS, unsupported algorithm)."""
    kind: SignatureKind = "document_timestamp" if _safe_type(sig) == "/DocTimeStamp" else "signature"
    return unreadable_report(_field(sig), kind, _identity(sig), "the signature could not be validated")


def unreadable_report(
    field: str, kind: SignatureKind, signer: SignerIdentity | None, problem: str
) -> SignatureReport:
    """Report on a signature field whose signature cannot be read or checked at all."""
    return SignatureReport(
        field=field,
        kind=kind,
        signer=signer,
        signing_time=None,
        timestamp=None,
        intact=False,
        valid=False,
        trusted=False,
        revoked=False,
        coverage=None,
        modifications=None,
        docmdp_ok=None,
        pades_level=None,
        bottom_line=False,
        summary="INVALID",
        ades=None,
        problems=(problem,),
    )


def _safe_type(sig: EmbeddedPdfSignature) -> str | None:
    try:
        return str(sig.sig_object_type)
    except Exception:  # missing /Type
        return None
