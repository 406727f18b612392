"""Turning pyHanko status objects into our frozen report entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    ModificationInfo,
    PdfSignatureStatus,
    TimestampSignatureStatus,
)

from ._ades import AdesRun
from ._certs import fingerprint
from ._levels import pades_level
from ._report import AdesVerdict, SignatureKind, SignatureReport, SignerIdentity, TimestampInfo
from ._verdict import NO_CHAIN, Facts, decide, revocation_state

__all__ = ("ades_verdict", "failed_report", "signature_report", "timestamp_report", "unreadable_report")

_NO_SIGNED_ATTRS = "the signature has no signed attributes, which PDF signatures require: its content cannot be checked"
_ILLEGAL_CHANGES = "changes after signing that the signature does not allow (pyHanko's own indication: PASSED)"


def _identity(sig: EmbeddedPdfSignature) -> SignerIdentity | None:
    try:
        cert = sig.signer_cert
        return SignerIdentity(
            subject=cert.subject.human_friendly,
            issuer=cert.issuer.human_friendly,
            serial=format(cert.serial_number, "x"),
            sha256_fingerprint=fingerprint(cert),
            not_after=cert.not_valid_after,
        )
    except Exception:  # a CMS blob without a usable signer certificate
        return None


def _field(sig: EmbeddedPdfSignature) -> str:
    try:
        return str(sig.field_name)
    except Exception:  # a field without a usable /T
        return ""


def _trusted(status: TimestampSignatureStatus | DocumentTimestampStatus) -> bool:
    return bool(status.intact and status.valid and status.trusted)


def _authority(status: TimestampSignatureStatus) -> str | None:
    try:
        return str(status.signing_cert.subject.human_friendly)
    except Exception:  # no readable TSA certificate
        return None


def _ts_info(ts: TimestampSignatureStatus | None) -> TimestampInfo | None:
    if ts is None:
        return None
    return TimestampInfo(time=ts.timestamp, trusted=_trusted(ts), authority=_authority(ts))


def _modifications(status: ModificationInfo) -> tuple[str | None, str | None]:
    coverage = status.coverage.name if status.coverage is not None else None
    level = status.modification_level
    return coverage, (level.name if level is not None else None)


def _modifications_allowed(status: PdfSignatureStatus | DocumentTimestampStatus) -> bool:
    _, level = _modifications(status)
    return status.docmdp_ok is not False and level != "OTHER"


def ades_verdict(run: AdesRun, modifications_allowed: bool) -> AdesVerdict:
    """Our ETSI verdict from pyHanko's result; illegal modifications after signing downgrade a PASSED."""
    sub = run.result.ades_subindic
    passed = sub.status is AdESStatus.PASSED
    verdict = AdesVerdict(
        indication=sub.status.name,
        subindication=None if passed else sub.standard_name,
        process=run.process,
        validation_time=run.validation_time,
        failure_message=run.result.failure_msg,
    )
    if passed and not modifications_allowed:
        return AdesVerdict(
            indication="INDETERMINATE",
            subindication="SIG_CONSTRAINTS_FAILURE",
            process=run.process,
            validation_time=run.validation_time,
            failure_message=_ILLEGAL_CHANGES,
            pyhanko_indication="PASSED",
        )
    return verdict


def _has_signed_attributes(sig: EmbeddedPdfSignature) -> bool:
    try:
        return len(sig.signer_info["signed_attrs"]) > 0
    except Exception:  # an unreadable signer info: other checks report it
        return True


def _ades_passed(run: AdesRun | None) -> bool:
    return run is not None and run.result.ades_subindic.status is AdESStatus.PASSED


def _problems(status: PdfSignatureStatus | DocumentTimestampStatus) -> list[str]:
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
    return problems


def _timestamp_problem(ts: TimestampSignatureStatus | None) -> list[str]:
    if ts is None or _trusted(ts):
        return []
    if not ts.intact or not ts.valid:
        why = "the timestamp token is damaged or its signature is invalid"
    elif ts.trust_problem_indic is not None:
        why = f"its authority's certificate is not trusted ({ts.trust_problem_indic.standard_name})"
    else:
        why = "its authority's certificate is not trusted"
    return [f"the signature timestamp is not trusted: {why}; it proves nothing about the signing time"]


def signature_report(
    sig: EmbeddedPdfSignature,
    status: PdfSignatureStatus,
    run: AdesRun | None,
    all_sigs: Sequence[EmbeddedPdfSignature],
    validation_time: datetime,
) -> SignatureReport:
    """Report on an ordinary signature from its classic status and ETSI run."""
    ts = _ts_info(status.timestamp_validity)
    coverage, modifications = _modifications(status)
    allowed = _modifications_allowed(status)
    ades = ades_verdict(run, allowed) if run is not None else None
    signer = _identity(sig)
    trust_problem = status.trust_problem_indic.standard_name if status.trust_problem_indic is not None else None
    facts = Facts(
        intact=status.intact,
        valid=status.valid,
        classic_trusted=status.trusted,
        classic_revoked=status.revoked,
        modifications_allowed=allowed,
        revocation=revocation_state(status.revoked, ades, _ades_passed(run)),
        ades=ades,
        cert_not_after=signer.not_after if signer is not None else None,
        proof_of_existence=ts.time if ts is not None and ts.trusted else None,
        chain_found=status.trusted or not ({trust_problem, ades and ades.subindication} & NO_CHAIN),
        validation_time=validation_time,
    )
    verdict, reason = decide(facts)
    problems = _problems(status) + _timestamp_problem(status.timestamp_validity)
    if not _has_signed_attributes(sig):  # pyHanko reports these as "not intact": say what is really wrong
        verdict, reason = "failed", _NO_SIGNED_ATTRS
        problems = [_NO_SIGNED_ATTRS]
    if facts.revocation == "unknown" and verdict != "failed":
        problems.append("the revocation status of the certificates is unknown")
    return SignatureReport(
        field=_field(sig),
        kind="signature",
        signer=signer,
        signing_time=ts.time if ts is not None else status.signer_reported_dt,
        timestamp=ts,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revoked=status.revoked,
        coverage=coverage,
        modifications=modifications,
        docmdp_ok=status.docmdp_ok,
        pades_level=pades_level(sig, status, all_sigs),
        bottom_line=status.bottom_line,
        summary=status.summary(),
        ades=ades,
        problems=tuple(problems),
        verdict=verdict,
        verdict_reason=reason,
        revocation=facts.revocation,
    )


def timestamp_report(
    sig: EmbeddedPdfSignature, status: DocumentTimestampStatus, revocation_checked: bool, validation_time: datetime
) -> SignatureReport:
    """Report on a document timestamp (its "signer" is the timestamp authority).

    ``revocation_checked``: validation requiring revocation data for the authority's chain succeeded.
    """
    coverage, modifications = _modifications(status)
    ok = _trusted(status)
    facts = Facts(
        intact=status.intact,
        valid=status.valid,
        classic_trusted=status.trusted,
        classic_revoked=status.revoked,
        modifications_allowed=_modifications_allowed(status),
        revocation=revocation_state(status.revoked, None, revocation_checked),
        ades=None,
        cert_not_after=None,
        proof_of_existence=status.timestamp,
        chain_found=status.trusted,
        validation_time=validation_time,
    )
    verdict, reason = decide(facts)
    if not status.trusted and status.intact and status.valid:
        reason = "the document timestamp's authority is not trusted"
    problems = _problems(status)
    if facts.revocation == "unknown" and verdict != "failed":
        problems.append("the revocation status of the timestamp authority's certificates is unknown")
    return SignatureReport(
        field=_field(sig),
        kind="document_timestamp",
        signer=_identity(sig),
        signing_time=status.timestamp,
        timestamp=TimestampInfo(time=status.timestamp, trusted=ok, authority=_authority(status)),
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
        problems=tuple(problems),
        verdict=verdict,
        verdict_reason=reason,
        revocation=facts.revocation,
    )


def failed_report(sig: EmbeddedPdfSignature, why: str = "the signature could not be validated") -> SignatureReport:
    """Report on a signature that could not be validated (malformed CMS, unsupported algorithm)."""
    kind: SignatureKind = "document_timestamp" if _safe_type(sig) == "/DocTimeStamp" else "signature"
    return unreadable_report(_field(sig), kind, _identity(sig), why)


def unreadable_report(field: str, kind: SignatureKind, signer: SignerIdentity | None, problem: str) -> SignatureReport:
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
        verdict="failed",
        verdict_reason=problem,
        revocation="unknown",
    )


def _safe_type(sig: EmbeddedPdfSignature) -> str | None:
    try:
        return str(sig.sig_object_type)
    except Exception:  # missing /Type
        return None
